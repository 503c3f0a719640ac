//! Version, features, names and the queries, create and destroy on the built-in simulated host.

mod common;

use common::{builtin, first_gpu_of};
use vgpu::{AbiVersion, ErrorCode, Features, GpuMode, InstanceState, ManagerOptions, Request, GIB};

#[test]
fn version_abi_and_features() {
    assert!(!vgpu::version().is_empty());
    let abi = vgpu::abi_version();
    assert_eq!(abi.major, AbiVersion::BINDINGS.major);
    assert!(
        abi.provides(AbiVersion::BINDINGS),
        "library {} < bindings {}",
        abi,
        AbiVersion::BINDINGS
    );
    let f = vgpu::features();
    for want in [
        Features::SIM,
        Features::NVIDIA_VFIO,
        Features::MDEV,
        Features::NOUVEAU,
        Features::SHARED_LEDGER,
        Features::CUSTOM_POLICY,
    ] {
        assert!(f.contains(want), "{:?} lacks {:?}", f, want);
    }
    assert!(f.contains(Features::SIM | Features::MDEV));
}

#[test]
fn backend_and_policy_names() {
    let backends = vgpu::backend_names().unwrap();
    assert!(backends.len() >= 4, "{:?}", backends);
    assert!(backends.iter().any(|b| b == "sim"));
    assert!(backends.iter().any(|b| b == "nvidia-vfio"));
    let policies = vgpu::policy_names().unwrap();
    assert!(policies.len() >= 5, "{:?}", policies);
    assert_eq!(policies[0], "fragmentation-aware");
}

#[test]
fn describe_the_builtin_host() {
    let info = builtin().describe().unwrap();
    assert_eq!(info.gpu_count, 7);
    assert_eq!(info.backend, "sim");
    assert_eq!(info.policy, "fragmentation-aware");
    assert_eq!(info.ledger, None); // the built-in host's ledger is private
    assert!(!info.ledger_rebuilt && !info.ledger_replayed);
    let best_fit = ManagerOptions::new().policy("best-fit").open().unwrap();
    assert_eq!(best_fit.describe().unwrap().policy, "best-fit");
}

#[test]
fn gpus() {
    let gpus = builtin().gpus().unwrap();
    assert_eq!(gpus.len(), 7);
    for (i, g) in gpus.iter().enumerate() {
        assert_eq!(g.index as usize, i);
        assert_eq!(g.pci_address.len(), 12, "{}", g.pci_address);
        assert_eq!((g.vgpu_count, g.used_framebuffer_bytes), (0, 0));
    }
    let a16 = gpus
        .iter()
        .filter(|g| g.model == "NVIDIA A16" && g.framebuffer_bytes == 16 * GIB);
    assert_eq!(a16.count(), 4);
    let l40s = gpus
        .iter()
        .filter(|g| g.model.contains("L40S") && g.mode == GpuMode::MixedSize);
    assert_eq!(l40s.count(), 2);
    assert_eq!(
        gpus.iter()
            .filter(|g| g.model.contains("A100") && g.mode == GpuMode::Mig)
            .count(),
        1
    );
    assert!(gpus.windows(2).all(|w| w[0].pci_address < w[1].pci_address));
}

#[test]
fn types_and_find_type() {
    let m = builtin();
    let a16 = first_gpu_of(&m, "NVIDIA A16");
    let types = m.types(&a16.pci_address).unwrap();
    assert!(types.len() >= 10);
    let t = types.iter().find(|t| t.name == "A16-2Q").expect("A16-2Q");
    assert_eq!(t.framebuffer_bytes, 2 * GIB);
    assert_eq!(t.series, 'Q');
    assert_eq!(t.max_heads, 4);
    assert_eq!(
        (t.max_resolution_width, t.max_resolution_height),
        (3840, 2400)
    );
    assert_eq!(t.max_instances, 8);
    assert_eq!(t.model, "NVIDIA A16");
    assert!(!t.mig_backed && t.mig_profile.is_none());

    // A MIG-backed type carries its profile and placements; names are matched loosely.
    let mig = m.find_type("A100D-3-40C").unwrap();
    assert!(mig.mig_backed && mig.mig_profile.is_some() && !mig.placements.is_empty());
    assert_eq!(mig.framebuffer_bytes, 40 * GIB);
    assert_eq!(m.find_type("nvidia a16-2q").unwrap().name, "A16-2Q");
    assert_eq!(&m.find_type("nvidia a16-2q").unwrap(), t);

    assert_eq!(
        m.types("not-an-address").unwrap_err().code,
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        m.types("0000:ff:1f.7").unwrap_err().code,
        ErrorCode::NotFound
    );
}

#[test]
fn create_list_and_destroy() {
    let m = builtin();
    let vm = "0b7a4a70-1111-4222-8333-944455556666";
    let made = m
        .create(
            &Request::of_type("A16-4Q")
                .count(2)
                .owner("vm-1")
                .vm_uuid(vm),
        )
        .unwrap();
    assert_eq!(made.len(), 2);
    assert!(made
        .iter()
        .all(|v| v.type_name == "A16-4Q" && v.state == InstanceState::Active));
    assert_ne!(made[0].gpu, made[1].gpu); // one VM's vGPUs on distinct GPUs
    assert_eq!(made[0].owner.as_deref(), Some("vm-1"));
    assert_eq!(made[0].vm_uuid.as_deref(), Some(vm));
    assert_eq!(made[0].pid, Some(std::process::id()));
    assert!(made[0].created_at_us > 0 && made[0].updated_at_us >= made[0].created_at_us);
    assert_eq!(m.instances().unwrap().len(), 2);

    let one = m.instance(&made[1].uuid).unwrap();
    assert_eq!(
        (one.gpu.as_str(), one.placement),
        (made[1].gpu.as_str(), made[1].placement)
    );
    let total: u32 = m.gpus().unwrap().iter().map(|g| g.vgpu_count).sum();
    assert_eq!(total, 2);

    // The A16 that holds a 4Q has 3 more 4Q and nothing of another size.
    let avail = m.creatable(&made[0].gpu).unwrap();
    assert!(
        avail.iter().all(|a| a.type_name.contains("-4")),
        "{:?}",
        avail
    );
    let four_q = avail.iter().find(|a| a.type_name == "A16-4Q").unwrap();
    assert_eq!(four_q.remaining, 3);
    assert_eq!(four_q.free_placements.len(), 3);
    assert_eq!(
        m.creatable("0000:ff:00.0").unwrap_err().code,
        ErrorCode::NotFound
    );

    let single = m.create(&Request::of_type("L40S-12Q")).unwrap();
    assert_eq!(single.len(), 1);
    assert_eq!(m.instances().unwrap().len(), 3);

    m.destroy(&made[0].uuid).unwrap();
    m.destroy(&made[1].uuid).unwrap();
    assert_eq!(
        m.destroy(&made[1].uuid).unwrap_err().code,
        ErrorCode::NotFound
    );
    assert_eq!(
        m.instance(&made[1].uuid).unwrap_err().code,
        ErrorCode::NotFound
    );
    let left = m.instances().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].uuid, single[0].uuid);
}

#[test]
fn create_by_requirement_and_constraints() {
    let m = builtin();
    let v = m
        .create(
            &Request::new()
                .min_framebuffer_bytes(3 * GIB)
                .series('Q')
                .model("A16"),
        )
        .unwrap();
    assert_eq!(v[0].type_name, "A16-4Q"); // the smallest Q type with at least 3 GiB

    // Only the GPU named, at the slot named; the same slot again overlaps.
    let l40s = first_gpu_of(&m, "NVIDIA L40S").pci_address;
    let pinned = Request::of_type("L40S-8Q")
        .allowed_gpus([l40s.as_str()])
        .placement(16);
    let v = m.create(&pinned).unwrap();
    assert_eq!((v[0].gpu.as_str(), v[0].placement), (l40s.as_str(), 16));
    assert_eq!(m.create(&pinned).unwrap_err().code, ErrorCode::NoCapacity);

    // Denied GPUs are avoided.
    let v = m
        .create(&Request::of_type("L40S-8Q").denied_gpus(vec![l40s.clone()]))
        .unwrap();
    assert_ne!(v[0].gpu, l40s);

    // Chosen UUIDs are used.
    let uuid = "11111111-2222-4333-8444-555555555555";
    let v = m.create(&Request::of_type("A16-1B").uuids([uuid])).unwrap();
    assert_eq!(v[0].uuid, uuid);
}

#[test]
fn one_vm_shares_a_gpu_only_when_allowed() {
    let m = builtin();
    let a16 = first_gpu_of(&m, "NVIDIA A16").pci_address;
    let three = Request::of_type("A16-1Q")
        .count(3)
        .owner("vm-s")
        .allowed_gpus([a16.as_str()]);
    assert_eq!(m.create(&three).unwrap_err().code, ErrorCode::NoCapacity);
    let made = m.create(&three.allow_shared_gpu(true)).unwrap();
    assert_eq!(made.len(), 3);
    assert!(made.iter().all(|v| v.gpu == a16));
}

#[test]
fn plan_creates_nothing() {
    let m = builtin();
    let batch = [
        Request::of_type("A16-8Q").count(2),
        Request::of_type("A16-16Q").count(9), // cannot fit
        Request::new().min_framebuffer_bytes(10 * GIB),
    ];
    let plan = m.plan(&batch).unwrap();
    assert_eq!(plan.len(), 4, "{:?}", plan); // two for a, one refusal for b, one for c
    let placed_a: Vec<_> = plan
        .iter()
        .filter(|e| e.request == 0 && e.placed())
        .collect();
    assert_eq!(placed_a.len(), 2);
    assert!(placed_a
        .iter()
        .all(|e| e.type_name == "A16-8Q" && e.uuid.len() == 36));
    let refused: Vec<_> = plan.iter().filter(|e| e.request == 1).collect();
    assert_eq!(refused.len(), 1);
    let why = refused[0].refusal.as_ref().expect("request 1 is refused");
    assert_eq!(why.code, ErrorCode::NoCapacity);
    assert!(!why.reason.is_empty());
    assert!(plan
        .iter()
        .any(|e| e.request == 2 && e.placed() && !e.gpu.is_empty()));
    assert!(m.instances().unwrap().is_empty());
    assert!(m.plan(&[]).unwrap().is_empty());
    let bad = m
        .plan(&[Request::of_type("A16-2Q").min_heads(2)])
        .unwrap_err();
    assert_eq!(bad.code, ErrorCode::InvalidArgument);
}

#[test]
fn explain_says_why_per_gpu() {
    let m = builtin();
    let verdicts = m.explain(&Request::of_type("A16-2Q")).unwrap();
    assert_eq!(verdicts.len(), 7);
    assert_eq!(verdicts.iter().filter(|v| v.eligible).count(), 4);
    assert_eq!(verdicts.iter().filter(|v| v.chosen).count(), 1);
    // The L40S and A100 GPUs say why not.
    let refusals: Vec<_> = verdicts.iter().filter(|v| !v.eligible).collect();
    assert_eq!(refusals.len(), 3);
    assert!(refusals
        .iter()
        .all(|v| v.reason.as_deref().map_or(false, |r| !r.is_empty())));
    assert!(verdicts
        .iter()
        .filter(|v| v.eligible)
        .all(|v| v.reason.is_none()));
    assert_eq!(
        m.explain(&Request::of_type("A16-5Q")).unwrap_err().code,
        ErrorCode::NotFound
    );
}
