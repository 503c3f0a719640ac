//! Managers on a simulated host file in a temporary directory: shared ledgers, reconcile, and
//! apply/restore.

mod common;

use common::{host_file, TempDir};
use vgpu::{ApplyFlags, ErrorCode, ManagerOptions, RepairKind, Request};

#[test]
fn two_managers_and_reconcile() {
    let dir = TempDir::new("reconcile");
    let host = host_file(&dir);
    let a = ManagerOptions::new().sim_host(&host).open().unwrap();
    let info = a.describe().unwrap();
    assert_eq!(info.ledger, Some(dir.path().join("host.json.ledger")));
    let v = a.create(&Request::of_type("A16-2Q")).unwrap().remove(0);

    // A second manager on the same host and ledger sees the vGPU.
    let b = ManagerOptions::new().sim_host(&host).open().unwrap();
    assert_eq!(b.instances().unwrap().len(), 1);

    // One with its own ledger, not reconciled at open, adopts it on reconcile.
    let other = dir.path().join("other.ledger");
    let c = ManagerOptions::new()
        .sim_host(&host)
        .ledger(&other)
        .skip_reconcile_on_open(true)
        .open()
        .unwrap();
    assert_eq!(c.describe().unwrap().ledger, Some(other));
    assert!(c.instances().unwrap().is_empty());
    let r = c.reconcile().unwrap();
    assert_eq!((r.repairs.len(), r.in_progress), (1, 0), "{:?}", r);
    assert_eq!(r.repairs[0].kind, RepairKind::Adopted);
    assert_eq!(r.repairs[0].uuid, v.uuid);
    assert!(!r.repairs[0].text.is_empty());
    assert!(c.reconcile().unwrap().repairs.is_empty());
    assert_eq!(c.instance(&v.uuid).unwrap().type_name, "A16-2Q");

    // Destroyed through a, released through the reconcile of c.
    a.destroy(&v.uuid).unwrap();
    assert!(b.instances().unwrap().is_empty());
    let r = c.reconcile().unwrap();
    assert_eq!(r.repairs.len(), 1, "{:?}", r);
    assert_eq!(r.repairs[0].kind, RepairKind::ReleasedVanished);
    assert!(c.instances().unwrap().is_empty());
}

#[test]
fn apply_and_restore() {
    let dir = TempDir::new("apply");
    let host = host_file(&dir);
    let m = ManagerOptions::new().sim_host(&host).open().unwrap();
    let state = r#"{"vgpus": [{"type": "A16-2Q", "count": 3}]}"#;

    let s = m.apply(state, ApplyFlags::DRY_RUN).unwrap();
    assert_eq!(s.created, 3);
    assert!(m.instances().unwrap().is_empty());
    let s = m.apply(state, ApplyFlags::NONE).unwrap();
    assert_eq!((s.created, s.kept), (3, 0));
    assert_eq!(m.instances().unwrap().len(), 3);
    let s = m.apply(state, ApplyFlags::default()).unwrap(); // idempotent
    assert_eq!((s.created, s.kept), (0, 3));

    let e = m.apply(r#"{"vgpu": []}"#, ApplyFlags::NONE).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    assert!(e.message.contains("vgpu"), "{}", e.message);
    let e = m.apply(state, ApplyFlags::from_bits(1 << 7)).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    let e = m
        .apply(
            r#"{"vgpus": [{"type": "A16-16Q", "count": 3}]}"#,
            ApplyFlags::NONE,
        )
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NoCapacity);
    assert_eq!(m.instances().unwrap().len(), 3);

    // "Reboot": the vGPUs vanish from the simulated host; restore brings them back.
    let before: Vec<String> = m.instances().unwrap().into_iter().map(|v| v.uuid).collect();
    for uuid in &before {
        m.destroy(uuid).unwrap();
    }
    let s = m.restore().unwrap();
    assert_eq!(s.created, 3);
    let mut after: Vec<String> = m.instances().unwrap().into_iter().map(|v| v.uuid).collect();
    let mut want = before;
    after.sort();
    want.sort();
    assert_eq!(after, want);
    assert_eq!(m.restore().unwrap().created, 0);

    // Prune: a state naming fewer vGPUs destroys the others.
    let one = r#"{"vgpus": [{"type": "A16-2Q", "count": 1}]}"#;
    let s = m
        .apply(one, ApplyFlags::PRUNE | ApplyFlags::DRY_RUN)
        .unwrap();
    assert_eq!((s.kept, s.destroyed), (1, 2));
    assert_eq!(m.instances().unwrap().len(), 3);
    let s = m.apply(one, ApplyFlags::PRUNE).unwrap();
    assert_eq!((s.kept, s.destroyed), (1, 2));
    assert_eq!(m.instances().unwrap().len(), 1);
}
