//! Every ErrorCode the safe API can meet, each from a real failure of the library (BadHandle
//! and BufferTooSmall cannot happen through the safe API: src/tests.rs provokes them with raw
//! calls; Internal and NoMemory have no reliable trigger).

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{builtin, host_file, TempDir};
use vgpu::{ErrorCode, ManagerOptions, Request};

#[test]
fn invalid_argument() {
    let m = builtin();
    let e = m.destroy("not-a-uuid").unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    assert_eq!(e.os_errno, 0);
    let e = m
        .create(&Request::of_type("A16-2Q").min_heads(2))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    assert!(e.message.contains("one or the other"), "{}", e.message);
    assert!(e.to_string().starts_with("invalid_argument: "), "{}", e);
    let e = m.create(&Request::new().series('X')).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    let e = ManagerOptions::new().policy("fastest").open().unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    assert!(e.message.contains("best-fit"), "{}", e.message);
    let e = ManagerOptions::new()
        .ledger("/tmp/not-for-the-builtin-host")
        .open()
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
}

#[test]
fn invalid_argument_found_by_the_bindings() {
    // Strings with a NUL and non-ASCII series never reach the library.
    let m = builtin();
    let e = m.find_type("A16\0-2Q").unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    assert!(e.message.contains("NUL"), "{}", e.message);
    let e = m
        .create(&Request::of_type("A16-2Q").owner("vm\0-1"))
        .unwrap_err();
    assert!(e.message.contains("owner"), "{}", e.message);
    let e = m.create(&Request::new().series('Ω')).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    let e = m
        .plan(&[Request::of_type("A16-2Q").allowed_gpus(["ok", "b\0ad"])])
        .unwrap_err();
    assert!(e.message.contains("allowed_gpus[1]"), "{}", e.message);
}

#[test]
fn not_found() {
    let m = builtin();
    let e = m.create(&Request::of_type("A16-3Q")).unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    let e = m.find_type("A16-3Q").unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    let e = m
        .instance("11111111-2222-4333-8444-555555555555")
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    let e = ManagerOptions::new()
        .sim_host("/nonexistent/host.json")
        .open()
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    let e = ManagerOptions::new()
        .catalog("/nonexistent/catalog.json")
        .open()
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
}

#[test]
fn no_capacity_is_all_or_nothing() {
    let m = builtin();
    let e = m.create(&Request::of_type("A16-16Q").count(5)).unwrap_err(); // four A16s
    assert_eq!(e.code, ErrorCode::NoCapacity);
    assert!(!e.message.is_empty());
    assert!(m.instances().unwrap().is_empty());
}

#[test]
fn conflict() {
    let m = builtin();
    let r = Request::of_type("A16-1B").uuids(["11111111-2222-4333-8444-555555555555"]);
    m.create(&r).unwrap();
    assert_eq!(m.create(&r).unwrap_err().code, ErrorCode::Conflict);
}

#[test]
fn not_supported() {
    // The built-in host's ledger is private: it keeps no definitions to restore.
    let e = builtin().restore().unwrap_err();
    assert_eq!(e.code, ErrorCode::NotSupported, "{}", e);
}

#[test]
fn version_mismatch() {
    // A catalog in a newer format than this library reads.
    let dir = TempDir::new("version");
    let catalog = dir.path().join("newer.json");
    fs::write(
        &catalog,
        "{\"schema\": \"vgpu-catalog/99\", \"gpus\": []}\n",
    )
    .unwrap();
    let e = ManagerOptions::new().catalog(&catalog).open().unwrap_err();
    assert_eq!(e.code, ErrorCode::VersionMismatch, "{}", e);
}

#[test]
fn permission() {
    // vgpu refuses a ledger every user may write, whoever runs the test (root included).
    let dir = TempDir::new("perm");
    let host = host_file(&dir);
    let ledger = dir.path().join("open.ledger");
    fs::write(&ledger, b"").unwrap();
    fs::set_permissions(&ledger, fs::Permissions::from_mode(0o666)).unwrap();
    let e = ManagerOptions::new()
        .sim_host(&host)
        .ledger(&ledger)
        .open()
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Permission, "{}", e);
    assert!(
        e.message.contains("writable by every user"),
        "{}",
        e.message
    );
}

#[test]
fn io_error_carries_the_os_errno() {
    // The simulated host saves itself through HOST.tmp.PID; a directory there makes the
    // write fail with EISDIR, and the create is undone.
    let dir = TempDir::new("io");
    let host = host_file(&dir);
    let m = ManagerOptions::new().sim_host(&host).open().unwrap();
    let blocker = PathBuf::from(format!("{}.tmp.{}", host.display(), std::process::id()));
    fs::create_dir(&blocker).unwrap();
    let e = m.create(&Request::of_type("A16-2Q")).unwrap_err();
    assert_eq!(e.code, ErrorCode::Io, "{}", e);
    assert_eq!(e.os_errno, 21, "{}", e); // EISDIR
    assert!(e.to_string().ends_with("(os error 21)"), "{}", e);
    assert!(m.instances().unwrap().is_empty());
    fs::remove_dir(&blocker).unwrap();
    m.create(&Request::of_type("A16-2Q")).unwrap();
}

/// vgpu_ledger_worker from the CMake build tree (tests/ledger): ctest names it in
/// $VGPU_LEDGER_WORKER; by hand it is found next to libvgpu in $VGPU_LIB_DIR/tests.
fn ledger_worker() -> Option<PathBuf> {
    let named = std::env::var_os("VGPU_LEDGER_WORKER").map(PathBuf::from);
    let beside =
        std::env::var_os("VGPU_LIB_DIR").map(|d| PathBuf::from(d).join("tests/vgpu_ledger_worker"));
    named.into_iter().chain(beside).find(|p| p.is_file())
}

#[test]
fn busy_while_another_process_creates() {
    let worker = match ledger_worker() {
        Some(w) => w,
        None => {
            eprintln!(
                "skipped: no vgpu_ledger_worker ($VGPU_LEDGER_WORKER or $VGPU_LIB_DIR/tests)"
            );
            return;
        }
    };
    let dir = TempDir::new("busy");
    let host = host_file(&dir);
    let ledger = dir.path().join("host.json.ledger");
    let m = ManagerOptions::new()
        .sim_host(&host)
        .ledger(&ledger)
        .open()
        .unwrap();
    // The worker reserves an A16-4Q in the shared ledger, says so, and holds until its stdin
    // closes.
    let mut child = Command::new(&worker)
        .arg("hold-create")
        .arg(&host)
        .arg(&ledger)
        .arg("A16-4Q")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let uuid = line
        .trim()
        .strip_prefix("reserved ")
        .expect("reserved UUID")
        .to_string();

    let e = m.destroy(&uuid).unwrap_err();
    assert_eq!(e.code, ErrorCode::Busy, "{}", e);
    assert!(
        e.message.contains(&format!("process {}", child.id())),
        "{}",
        e.message
    );
    assert_eq!(m.reconcile().unwrap().in_progress, 1);

    drop(child.stdin.take()); // let it finish
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), format!("created {}", uuid));
    assert!(child.wait().unwrap().success());
    m.destroy(&uuid).unwrap();
}
