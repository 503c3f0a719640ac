//! [`Request`]: what to create, plan or explain (`vgpu_request_t`), built step by step.

use std::ffi::CString;
use std::os::raw::c_char;
use std::ptr;

use vgpu_sys as sys;

use crate::error::{Error, ErrorCode, Result};
use crate::raw::{c_string, init, ptr_of};

/// Which GPUs the vGPUs of one request must share (`vgpu_affinity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Affinity {
    /// Only the host (no constraint).
    #[default]
    None,
    /// One NUMA node.
    NumaNode,
    /// One PCI root (peer-to-peer between them).
    PciRoot,
}

/// What to create: [`count`](Request::count) vGPUs of a type, or of the smallest type meeting
/// a requirement, all or nothing. Unset fields mean "no constraint".
///
/// ```no_run
/// # use vgpu::Request;
/// let by_name = Request::of_type("A16-2Q").count(2).owner("vm-1");
/// let by_need = Request::new().min_framebuffer_bytes(4 << 30).series('Q');
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    type_name: Option<String>,
    min_framebuffer_bytes: u64,
    min_heads: u32,
    min_resolution: (u32, u32),
    series: Option<char>,
    exclude_mig_backed: bool,
    include_deprecated: bool,
    model: Option<String>,
    gpu_milli: u32,
    count: u32,
    owner: Option<String>,
    vm_uuid: Option<String>,
    uuids: Vec<String>,
    allowed_gpus: Vec<String>,
    denied_gpus: Vec<String>,
    numa_node: Option<u32>,
    placement: Option<u32>,
    allow_shared_gpu: bool,
    affinity: Affinity,
}

impl Request {
    /// A request by requirement: one vGPU of the smallest type, per GPU model, that meets the
    /// requirements set next (none yet: the smallest type there is).
    pub fn new() -> Request {
        Request::default()
    }

    /// One vGPU of type `name` ("A16-2Q"; case-insensitive, "NVIDIA"/"GRID" prefixes
    /// accepted). A type excludes the requirement fields.
    pub fn of_type(name: impl Into<String>) -> Request {
        Request {
            type_name: Some(name.into()),
            ..Request::default()
        }
    }

    /// How many vGPUs (default 1), all or nothing.
    pub fn count(mut self, count: u32) -> Request {
        self.count = count;
        self
    }
    /// Requirement: at least this framebuffer.
    pub fn min_framebuffer_bytes(mut self, bytes: u64) -> Request {
        self.min_framebuffer_bytes = bytes;
        self
    }
    /// Requirement: at least this many display heads.
    pub fn min_heads(mut self, heads: u32) -> Request {
        self.min_heads = heads;
        self
    }
    /// Requirement: each head at least this wide and high (needs [`min_heads`](Self::min_heads)).
    pub fn min_resolution(mut self, width: u32, height: u32) -> Request {
        self.min_resolution = (width, height);
        self
    }
    /// Requirement: only series 'Q', 'B', 'A' or 'C'.
    pub fn series(mut self, series: char) -> Request {
        self.series = Some(series);
        self
    }
    /// Requirement: no MIG-backed types.
    pub fn exclude_mig_backed(mut self, exclude: bool) -> Request {
        self.exclude_mig_backed = exclude;
        self
    }
    /// Requirement: also deprecated types.
    pub fn include_deprecated(mut self, include: bool) -> Request {
        self.include_deprecated = include;
        self
    }
    /// Requirement: only this GPU model ("A16").
    pub fn model(mut self, model: impl Into<String>) -> Request {
        self.model = Some(model.into());
        self
    }
    /// Requirement: also at least this fraction of the GPU's framebuffer, in thousandths.
    pub fn gpu_milli(mut self, milli: u32) -> Request {
        self.gpu_milli = milli;
        self
    }
    /// The VM's name, recorded with the vGPUs.
    pub fn owner(mut self, owner: impl Into<String>) -> Request {
        self.owner = Some(owner.into());
        self
    }
    /// The VM's UUID, recorded with the vGPUs.
    pub fn vm_uuid(mut self, uuid: impl Into<String>) -> Request {
        self.vm_uuid = Some(uuid.into());
        self
    }
    /// One UUID per vGPU (as many as [`count`](Self::count)), instead of random ones.
    pub fn uuids<I, S>(mut self, uuids: I) -> Request
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.uuids = uuids.into_iter().map(Into::into).collect();
        self
    }
    /// Only these GPUs (PCI addresses).
    pub fn allowed_gpus<I, S>(mut self, gpus: I) -> Request
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_gpus = gpus.into_iter().map(Into::into).collect();
        self
    }
    /// Never these GPUs (PCI addresses).
    pub fn denied_gpus<I, S>(mut self, gpus: I) -> Request
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.denied_gpus = gpus.into_iter().map(Into::into).collect();
        self
    }
    /// Only GPUs on this NUMA node.
    pub fn numa_node(mut self, node: u32) -> Request {
        self.numa_node = Some(node);
        self
    }
    /// Only this start slot (single-vGPU requests).
    pub fn placement(mut self, slot: u32) -> Request {
        self.placement = Some(slot);
        self
    }
    /// Let several vGPUs of the request, or of its owner, share a GPU (NVIDIA supports
    /// several vGPUs in one VM only on distinct GPUs, hence the default `false`).
    pub fn allow_shared_gpu(mut self, allow: bool) -> Request {
        self.allow_shared_gpu = allow;
        self
    }
    /// Which GPUs the request's vGPUs must share.
    pub fn affinity(mut self, affinity: Affinity) -> Request {
        self.affinity = affinity;
        self
    }

    /// How many vGPUs the request asks for (0 means 1 in the C ABI).
    pub(crate) fn vgpu_count(&self) -> usize {
        self.count.max(1) as usize
    }

    /// The C struct, with the strings it points to.
    pub(crate) fn to_raw(&self) -> Result<RawRequest> {
        let type_name = opt_c(&self.type_name, "Request type")?;
        let model = opt_c(&self.model, "Request model")?;
        let owner = opt_c(&self.owner, "Request owner")?;
        let vm_uuid = opt_c(&self.vm_uuid, "Request vm_uuid")?;
        let uuids = CArray::new(&self.uuids, "Request uuids")?;
        let allowed = CArray::new(&self.allowed_gpus, "Request allowed_gpus")?;
        let denied = CArray::new(&self.denied_gpus, "Request denied_gpus")?;
        let series = match self.series {
            None => 0,
            Some(c) if c.is_ascii() && c != '\0' => c as u8 as c_char,
            Some(c) => {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    format!("Request series is {:?}: use 'Q', 'B', 'A' or 'C'", c),
                ))
            }
        };

        let mut raw = init(sys::vgpu_request_init, sys::VGPU_REQUEST_VERSION);
        raw.type_ = ptr_of(&type_name);
        raw.min_framebuffer_bytes = self.min_framebuffer_bytes;
        raw.min_heads = self.min_heads;
        raw.min_resolution_width = self.min_resolution.0;
        raw.min_resolution_height = self.min_resolution.1;
        raw.series = series;
        raw.exclude_mig_backed = self.exclude_mig_backed;
        raw.include_deprecated = self.include_deprecated;
        raw.model = ptr_of(&model);
        raw.gpu_milli = self.gpu_milli;
        raw.count = self.count;
        raw.owner = ptr_of(&owner);
        raw.vm_uuid = ptr_of(&vm_uuid);
        raw.uuids = uuids.ptr();
        raw.uuid_count = uuids.len();
        raw.allowed_gpus = allowed.ptr();
        raw.allowed_gpu_count = allowed.len();
        raw.denied_gpus = denied.ptr();
        raw.denied_gpu_count = denied.len();
        raw.has_numa_node = self.numa_node.is_some();
        raw.numa_node = self.numa_node.unwrap_or(0);
        raw.has_placement = self.placement.is_some();
        raw.placement = self.placement.unwrap_or(0);
        raw.allow_shared_gpu = self.allow_shared_gpu;
        raw.affinity = match self.affinity {
            Affinity::None => sys::VGPU_AFFINITY_NONE,
            Affinity::NumaNode => sys::VGPU_AFFINITY_NUMA_NODE,
            Affinity::PciRoot => sys::VGPU_AFFINITY_PCI_ROOT,
        };
        Ok(RawRequest {
            raw,
            _strings: [type_name, model, owner, vm_uuid],
            _arrays: [uuids, allowed, denied],
        })
    }
}

fn opt_c(s: &Option<String>, what: &str) -> Result<Option<CString>> {
    s.as_deref().map(|s| c_string(s, what)).transpose()
}

/// A `const char* const*` array and the strings it points to.
pub(crate) struct CArray {
    _strings: Vec<CString>,
    pointers: Vec<*const c_char>,
}

impl CArray {
    pub(crate) fn new<S: AsRef<str>>(items: &[S], what: &str) -> Result<CArray> {
        let strings = items
            .iter()
            .enumerate()
            .map(|(i, s)| c_string(s.as_ref(), &format!("{}[{}]", what, i)))
            .collect::<Result<Vec<_>>>()?;
        let pointers = strings.iter().map(|s| s.as_ptr()).collect();
        Ok(CArray {
            _strings: strings,
            pointers,
        })
    }

    pub(crate) fn from_c_strings(strings: Vec<CString>) -> CArray {
        let pointers = strings.iter().map(|s| s.as_ptr()).collect();
        CArray {
            _strings: strings,
            pointers,
        }
    }

    /// NULL when empty (vgpu.h: a NULL array with a zero count).
    pub(crate) fn ptr(&self) -> *const *const c_char {
        if self.pointers.is_empty() {
            ptr::null()
        } else {
            self.pointers.as_ptr()
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.pointers.len()
    }
}

/// A `vgpu_request_t` and everything its pointers point to. The strings live on the heap,
/// so moving this value keeps the pointers valid.
pub(crate) struct RawRequest {
    pub(crate) raw: sys::vgpu_request_t,
    _strings: [Option<CString>; 4],
    _arrays: [CArray; 3],
}
