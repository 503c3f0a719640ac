//! One Manager shared by threads through an Arc (vgpu.h: every function may be called from any
//! thread; calls on one manager are serialised).

mod common;

use std::sync::Arc;
use std::thread;

use vgpu::{ErrorCode, Manager, ManagerOptions, Request};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn manager_is_send_and_sync() {
    assert_send_sync::<Manager>();
    assert_send_sync::<vgpu::Error>();
    // A manager may also move to another thread and be dropped there.
    let m = common::builtin();
    thread::spawn(move || drop(m)).join().unwrap();
}

#[test]
fn threads_share_an_arc_manager() {
    let m = Arc::new(common::builtin());
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let m = Arc::clone(&m);
            thread::spawn(move || {
                let owner = format!("vm-{}", t);
                for _ in 0..10 {
                    let made = m
                        .create(&Request::of_type("A16-1Q").owner(owner.as_str()))
                        .unwrap();
                    assert_eq!(
                        m.instance(&made[0].uuid).unwrap().owner.as_deref(),
                        Some(owner.as_str())
                    );
                    assert!(!m.gpus().unwrap().is_empty());
                    m.destroy(&made[0].uuid).unwrap();
                }
                m.create(&Request::of_type("A16-2Q").owner(owner.as_str()))
                    .unwrap()
                    .remove(0)
            })
        })
        .collect();
    let kept: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let all = m.instances().unwrap();
    assert_eq!(all.len(), 4);
    for v in &kept {
        assert!(all.iter().any(|i| i.uuid == v.uuid));
    }
}

#[test]
fn threads_race_for_the_last_places() {
    // Four threads want two A16-16Q each on a host with four A16s: all-or-nothing creates
    // serialised by the library give exactly four vGPUs, never more.
    let m = Arc::new(common::builtin());
    let results: Vec<_> = (0..4)
        .map(|t| {
            let m = Arc::clone(&m);
            thread::spawn(move || {
                m.create(
                    &Request::of_type("A16-16Q")
                        .count(2)
                        .owner(format!("vm-{}", t)),
                )
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 2);
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| e.code == ErrorCode::NoCapacity));
    assert_eq!(m.instances().unwrap().len(), 4);
}

#[test]
fn managers_on_one_host_file_in_threads() {
    // Several managers of one process on one shared host and ledger, one per thread.
    let dir = common::TempDir::new("threads");
    let host = common::host_file(&dir);
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let host = host.clone();
            thread::spawn(move || {
                let m = ManagerOptions::new().sim_host(&host).open().unwrap();
                let v = m
                    .create(&Request::of_type("A16-4Q").allow_shared_gpu(true))
                    .unwrap();
                v[0].uuid.clone()
            })
        })
        .collect();
    let uuids: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let m = ManagerOptions::new().sim_host(&host).open().unwrap();
    let all = m.instances().unwrap();
    assert_eq!(all.len(), 3);
    for u in &uuids {
        m.destroy(u).unwrap();
    }
}
