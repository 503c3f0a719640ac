//! Helpers shared by the integration tests: private temporary directories and simulated host
//! files.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use vgpu::{GpuInfo, Manager, ManagerOptions};

/// A private directory under the system's temporary directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("vgpu-rust-{}-{}-{}", tag, std::process::id(), n));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir(&path).expect("create a temporary directory");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A simulated host file with two A16 GPUs in `dir`; its default ledger is `host.json.ledger`.
pub fn host_file(dir: &TempDir) -> PathBuf {
    let host = dir.path().join("host.json");
    fs::write(&host, "{\"gpus\": [{\"model\": \"A16\", \"count\": 2}]}\n")
        .expect("write host.json");
    host
}

/// A manager of the built-in simulated host (4 A16, 2 L40S mixed-size, 1 A100 MIG).
pub fn builtin() -> Manager {
    Manager::open(ManagerOptions::new()).expect("open the built-in simulated host")
}

/// The first GPU of a model on `m`.
pub fn first_gpu_of(m: &Manager, model: &str) -> GpuInfo {
    m.gpus()
        .unwrap()
        .into_iter()
        .find(|g| g.model == model)
        .expect("a GPU of that model")
}
