#!/usr/bin/env bash
# Regenerates bindings/rust/vgpu-sys/src/bindings.rs from include/vgpu.h with bindgen.
#
#   bindings/rust/regen.sh            rewrite the committed bindings.rs
#   bindings/rust/regen.sh --check    regenerate into a temporary file and fail if it differs
#                                     from the committed one (the bindings.rust_fresh test)
#   bindings/rust/regen.sh OUTPUT     write the bindings to OUTPUT instead
#
# The output is committed, so nobody needs bindgen or libclang to build the crates. It is
# pinned to Debian 12's tools (scripts/bootstrap.sh installs them): the `bindgen` CLI 0.60,
# libclang 14 (libclang-dev) and rustfmt 1.63 (`rustfmt`, which bindgen runs on its output).
# Other versions print other text for the same header, so this script refuses them rather
# than produce a diff that is only noise. $BINDGEN and $RUSTFMT override the programs.
#
# Options, and why:
#   --allowlist-{function,type,var}  only vgpu.h's own names (vgpu_*, VGPU_*), not libc's.
#   --no-prepend-enum-name           the enum constants keep their C names (VGPU_E_NOT_FOUND),
#                                    which are already unique; not vgpu_status_VGPU_E_NOT_FOUND.
#   --size_t-is-usize                size_t is usize (the default from bindgen 0.61 on).
#   --with-derive-default            Default (all zero) for every struct: a zeroed field is "the
#                                    default" in vgpu.h, and the safe crate starts from it.
#   --no-doc-comments                vgpu.h's comments are Doxygen, not Markdown: rustdoc would
#                                    run their indented continuation lines as doc tests. vgpu.h is
#                                    the reference for the raw API; the safe crate has its docs.
#   layout tests (kept)              each struct's size, alignment and field offsets as clang
#                                    computed them, checked by `cargo test` against the layout
#                                    rustc gives the #[repr(C)] struct on the machine running the
#                                    tests. They cost milliseconds and are the only check that the
#                                    committed declarations match the C layout where they are used
#                                    (a hand edit, a bindgen bug, a target with another layout).
#   -- -x c -std=c99                 the header is C99 (tests/capi checks that too).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
header="$root/include/vgpu.h"
committed="$here/vgpu-sys/src/bindings.rs"
bindgen=${BINDGEN:-bindgen}
rustfmt=${RUSTFMT:-/usr/bin/rustfmt}
want_bindgen="bindgen 0.60."
want_rustfmt="rustfmt 1.5.1"  # Debian 12's rustfmt package (Rust 1.63)
update="bindings/rust/regen.sh"

check=0
out="$committed"
case "${1:-}" in
  --check) check=1 ;;
  -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
  "") ;;
  *) out=$1 ;;
esac

if ! command -v "$bindgen" >/dev/null 2>&1; then
  echo "regen.sh: no bindgen; install Debian's (scripts/bootstrap.sh, or apt-get install bindgen libclang-dev rustfmt)" >&2
  exit 77  # ctest: skipped
fi
have=$("$bindgen" --version 2>/dev/null | head -n1)
if [[ "$have" != "$want_bindgen"* ]]; then
  echo "regen.sh: found '$have' ($bindgen); the committed bindings come from Debian 12's ${want_bindgen}x" >&2
  echo "regen.sh: other versions print different text; run scripts/bootstrap.sh, or set BINDGEN" >&2
  exit 1
fi
if ! have_fmt=$("$rustfmt" --version 2>/dev/null) || [[ "$have_fmt" != "$want_rustfmt"* ]]; then
  echo "regen.sh: bindgen formats its output with rustfmt; want Debian 12's '$want_rustfmt' at $rustfmt, found '${have_fmt:-nothing}'" >&2
  echo "regen.sh: run scripts/bootstrap.sh (package rustfmt), or set RUSTFMT" >&2
  exit 1
fi

generate() {
  # bindgen formats with the rustfmt named by $RUSTFMT; cd keeps any rustfmt.toml of the
  # caller's directory out of it.
  (cd "$here" && RUSTFMT="$rustfmt" "$bindgen" "$header" \
    --allowlist-function 'vgpu_.*' \
    --allowlist-type 'vgpu_.*' \
    --allowlist-var 'VGPU_.*' \
    --no-prepend-enum-name \
    --size_t-is-usize \
    --with-derive-default \
    --no-doc-comments \
    --output "$1" \
    -- -x c -std=c99)
}

if [ "$check" -eq 1 ]; then
  tmp=$(mktemp --suffix=.rs)
  trap 'rm -f "$tmp"' EXIT
  generate "$tmp"
  if ! diff -u "$committed" "$tmp" >&2; then
    echo >&2
    echo "regen.sh: bindings/rust/vgpu-sys/src/bindings.rs is stale: it is not what bindgen makes of include/vgpu.h (diff above)." >&2
    echo "regen.sh: update it with:  $update   (then review and commit the diff)" >&2
    exit 1
  fi
  echo "regen.sh: bindings/rust/vgpu-sys/src/bindings.rs is up to date with include/vgpu.h"
  exit 0
fi

generate "$out"
echo "regen.sh: wrote $out"
