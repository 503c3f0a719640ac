//! Links libvgpu (the vgpu C ABI). Nothing is generated or downloaded here: the declarations
//! in src/bindings.rs are committed (bindings/rust/regen.sh rewrites them).
//!
//! VGPU_LIB_DIR names the directory holding libvgpu.so (a CMake build tree such as
//! build/default, or an install's lib directory). Unset, the linker's default search path is
//! used (libvgpu installed under /usr or /usr/local).
fn main() {
    println!("cargo:rerun-if-env-changed=VGPU_LIB_DIR");
    if let Some(dir) = std::env::var_os("VGPU_LIB_DIR") {
        let dir = std::path::PathBuf::from(dir);
        match dir.to_str() {
            Some(d) => println!("cargo:rustc-link-search=native={}", d),
            None => panic!("VGPU_LIB_DIR ({:?}) is not valid UTF-8", dir),
        }
    }
    println!("cargo:rustc-link-lib=dylib=vgpu");
}
