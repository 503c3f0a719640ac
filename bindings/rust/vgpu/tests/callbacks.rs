//! Log and custom-policy closures: delivery, replacement, lifetime, panics and re-entry.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use vgpu::{Candidate, ErrorCode, LogLevel, Manager, ManagerOptions, Request, GIB};

type Log = Arc<Mutex<Vec<(LogLevel, String)>>>;

fn sink() -> (Log, impl Fn(LogLevel, &str) + Send + Sync + 'static) {
    let log: Log = Arc::default();
    let l = log.clone();
    (log, move |level, message: &str| {
        l.lock().unwrap().push((level, message.to_string()))
    })
}

fn created(log: &Log) -> usize {
    log.lock()
        .unwrap()
        .iter()
        .filter(|(_, m)| m.contains("created"))
        .count()
}

#[test]
fn log_closure_receives_messages_at_its_level() {
    let (log, f) = sink();
    let m = ManagerOptions::new().log(LogLevel::Info, f).open().unwrap();
    let r = Request::of_type("A16-2Q");
    m.create(&r).unwrap();
    assert_eq!(created(&log), 1);
    assert!(log
        .lock()
        .unwrap()
        .iter()
        .all(|(l, _)| *l >= LogLevel::Info));

    // Only warnings and errors now: a successful create says nothing.
    let (warnings, f) = sink();
    m.set_log(LogLevel::Warning, f).unwrap();
    m.create(&r).unwrap();
    assert!(
        warnings.lock().unwrap().is_empty(),
        "{:?}",
        warnings.lock().unwrap()
    );

    // Debug and up: the create is logged there, no longer in the first closure.
    let (all, f) = sink();
    m.set_log(LogLevel::Debug, f).unwrap();
    m.create(&r).unwrap();
    assert_eq!(created(&all), 1);
    assert_eq!(created(&log), 1);

    m.clear_log().unwrap();
    let before = all.lock().unwrap().len();
    m.create(&r).unwrap();
    assert_eq!(all.lock().unwrap().len(), before);
    assert_eq!(m.instances().unwrap().len(), 4);
}

#[test]
fn closures_live_as_long_as_the_manager_needs_them() {
    // The Manager owns its closures: dropping it (after closing) drops them, and set_log
    // drops the one it replaces.
    let first = Arc::new(());
    let second = Arc::new(());
    let policy = Arc::new(());
    let (f1, f2, p) = (first.clone(), second.clone(), policy.clone());
    let m = ManagerOptions::new()
        .log(LogLevel::Debug, move |_, _| {
            let _ = &f1;
        })
        .custom_policy(move |_| {
            let _ = &p;
            0.0
        })
        .open()
        .unwrap();
    assert_eq!(
        (Arc::strong_count(&first), Arc::strong_count(&policy)),
        (2, 2)
    );
    m.set_log(LogLevel::Debug, move |_, _| {
        let _ = &f2;
    })
    .unwrap();
    assert_eq!(Arc::strong_count(&first), 1);
    m.create(&Request::of_type("A16-2Q")).unwrap();
    drop(m);
    assert_eq!(
        (Arc::strong_count(&second), Arc::strong_count(&policy)),
        (1, 1)
    );
}

#[test]
fn custom_policy_chooses_the_gpu() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    // Prefers L40S GPUs, then the least used GPU.
    let m = ManagerOptions::new()
        .policy("l40s-first")
        .custom_policy(move |cand: &Candidate<'_>| {
            c.fetch_add(1, Ordering::Relaxed);
            let model = if cand.model.contains("L40S") {
                0.0
            } else {
                1e12
            };
            model + cand.used_framebuffer_bytes as f64
        })
        .open()
        .unwrap();
    assert_eq!(m.describe().unwrap().policy, "l40s-first");
    let v = m
        .create(&Request::new().min_framebuffer_bytes(4 * GIB).series('Q'))
        .unwrap();
    assert!(v[0].type_name.starts_with("L40S"), "{:?}", v);
    assert!(calls.load(Ordering::Relaxed) > 0);

    // A NaN score counts as +infinity: every GPU is equally bad, and placement still works.
    let nan = ManagerOptions::new()
        .custom_policy(|_| f64::NAN)
        .open()
        .unwrap();
    assert_eq!(nan.describe().unwrap().policy, "custom");
    nan.create(&Request::new().min_framebuffer_bytes(4 * GIB).series('Q'))
        .unwrap();
}

#[test]
fn candidate_fields() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let s = seen.clone();
    let m = ManagerOptions::new()
        .custom_policy(move |c| {
            assert!(c.gpu_framebuffer_bytes >= c.type_framebuffer_bytes);
            assert!(c.placement_size >= 1);
            s.lock()
                .unwrap()
                .push(format!("{} {} {}", c.model, c.type_name, c.requested_bytes));
            c.placement as f64
        })
        .policy_placement_sensitive(true)
        .open()
        .unwrap();
    m.create(&Request::of_type("A16-4Q")).unwrap();
    let seen = seen.lock().unwrap();
    assert!(
        seen.iter().any(|s| s.starts_with("NVIDIA A16 A16-4Q ")),
        "{:?}",
        seen
    );
}

#[test]
fn panics_never_cross_into_c() {
    // A panicking log closure is ignored; a panicking policy scores +infinity.
    let m = ManagerOptions::new()
        .log(LogLevel::Debug, |_, _| {
            panic!("log closure panics (expected by the test)")
        })
        .custom_policy(|c| {
            if c.model.contains("A16") {
                panic!("policy closure panics (expected by the test)")
            }
            1.0
        })
        .open()
        .unwrap();
    let v = m
        .create(&Request::new().min_framebuffer_bytes(4 * GIB).series('Q'))
        .unwrap();
    assert!(!v[0].type_name.starts_with("A16"), "{:?}", v); // the A16s scored +infinity
    assert_eq!(m.instances().unwrap().len(), 1);
}

#[test]
fn a_callback_calling_its_own_manager_gets_busy_not_a_deadlock() {
    let slot: Arc<Mutex<Option<Arc<Manager>>>> = Arc::default();
    let answers: Arc<Mutex<Vec<ErrorCode>>> = Arc::default();
    let (s, a) = (slot.clone(), answers.clone());
    let m = Arc::new(
        ManagerOptions::new()
            .log(LogLevel::Info, move |_, _| {
                if let Some(me) = s.lock().unwrap().as_ref() {
                    if let Err(e) = me.instances() {
                        a.lock().unwrap().push(e.code);
                    }
                }
            })
            .open()
            .unwrap(),
    );
    *slot.lock().unwrap() = Some(m.clone());
    m.create(&Request::of_type("A16-2Q")).unwrap();
    let refused = answers.lock().unwrap().clone();
    assert!(
        !refused.is_empty() && refused.iter().all(|c| *c == ErrorCode::Busy),
        "{:?}",
        refused
    );
    // Another manager may be called from the callback.
    let other = Arc::new(common::builtin());
    *slot.lock().unwrap() = Some(other);
    m.create(&Request::of_type("A16-2Q")).unwrap();
    assert_eq!(answers.lock().unwrap().len(), refused.len());
    *slot.lock().unwrap() = None; // break the cycle m -> closure -> m
}
