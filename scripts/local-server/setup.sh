#!/usr/bin/env bash
# Build llama.cpp's llama-server and generate a tiny random-weight model, so
# live tests can run against a real OpenAI/Anthropic-compatible server with no
# network access except package registries. Idempotent: every step is skipped
# when its output already exists, so a second run takes about a second.
#
# Env: LLMBENCH_CACHE (default ~/.cache/pytest-llmbench), PYTHON (default python3),
#      LLMBENCH_MODEL_ARGS (extra args for make_tiny_model.py, e.g. "--layers 8 --width 512").
set -Eeuo pipefail  # -E: the ERR trap below also fires inside functions

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${LLMBENCH_CACHE:-$HOME/.cache/pytest-llmbench}"
PYTHON="${PYTHON:-python3}"
MODEL_ARGS="${LLMBENCH_MODEL_ARGS:-}"

# llama.cpp is taken from the llama-cpp-python sdist because PyPI is reachable
# and GitHub is not; the sdist vendors a matching llama.cpp checkout.
LCP_VERSION="0.3.36"
LCP_SHA256="832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
GGUF_PIN="gguf==0.19.0"  # same version as the gguf-py vendored in that llama.cpp

SDIST="$CACHE/llama_cpp_python-$LCP_VERSION.tar.gz"
SRC_ROOT="$CACHE/llama_cpp_python-$LCP_VERSION"
LLAMA_SRC="$SRC_ROOT/vendor/llama.cpp"
BUILD_DIR="$CACHE/build-llama-server-$LCP_VERSION"
SERVER_BIN="$BUILD_DIR/bin/llama-server"
VOCAB="$LLAMA_SRC/models/ggml-vocab-llama-spm.gguf"
MODEL="$CACHE/tiny-llama.gguf"
MODEL_STAMP="$MODEL.stamp"  # hash of generator + args that produced $MODEL
# Our patches to the vendored llama.cpp (see each file's header). The sources and the binary
# each carry a stamp with the hash of the patch set they were made from.
PATCHES=("$HERE"/patches/*.patch)
PATCH_HASH="$(cat "${PATCHES[@]}" | sha256sum | cut -d' ' -f1)"
SRC_STAMP="$SRC_ROOT/.llmbench-patches"
BIN_STAMP="$BUILD_DIR/.llmbench-patches"

die() { echo "setup.sh: ERROR: $*" >&2; exit 1; }
trap 'echo "setup.sh: FAILED at line $LINENO (exit $?)" >&2' ERR

# step NAME CMD...: run CMD and report how long it took.
step() {
    local name="$1" start=$SECONDS
    shift
    echo "==> $name ..."
    "$@"
    echo "    done: $name ($((SECONDS - start)) s)"
}
skip() { echo "--- skip: $*"; }

mkdir -p "$CACHE"
rm -rf "$CACHE"/download.* "$CACHE"/extract.*  # leftovers of an interrupted run
command -v "$PYTHON" >/dev/null || die "python not found: $PYTHON"

download_sdist() {
    local tmp
    tmp="$(mktemp -d "$CACHE/download.XXXXXX")"
    "$PYTHON" -m pip download --quiet --no-deps --no-binary :all: \
        --dest "$tmp" "llama-cpp-python==$LCP_VERSION" \
        || die "pip download of llama-cpp-python==$LCP_VERSION failed (is PyPI reachable?)"
    echo "$LCP_SHA256  $tmp/$(basename "$SDIST")" | sha256sum --check --quiet \
        || die "sha256 mismatch for $(basename "$SDIST")"
    mv "$tmp/$(basename "$SDIST")" "$SDIST"  # move only once complete and verified
    rm -rf "$tmp"
}

extract_sdist() {
    local tmp
    tmp="$(mktemp -d "$CACHE/extract.XXXXXX")"
    tar -xzf "$SDIST" -C "$tmp" || die "could not extract $SDIST"
    mv "$tmp/$(basename "$SRC_ROOT")" "$SRC_ROOT"  # rename makes a half-extracted tree impossible
    rm -rf "$tmp"
}

build_server() {
    command -v cmake >/dev/null || die "cmake not found (apt-get install cmake build-essential)"
    # Every option that could reach the network is off: no web UI (npm / HF bucket
    # download), no OpenSSL (BoringSSL/LibreSSL fetch), no tests/examples.
    # GGML_NATIVE=OFF builds for generic x86-64 with AVX2 instead of -march=native,
    # so a cached binary still runs on a CI runner with a different CPU.
    cmake -S "$LLAMA_SRC" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
        -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
        -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF \
        -DLLAMA_LLGUIDANCE=OFF >"$BUILD_DIR.configure.log" 2>&1 \
        || die "cmake configure failed, see $BUILD_DIR.configure.log"
    cmake --build "$BUILD_DIR" --target llama-server -j 2 >"$BUILD_DIR.build.log" 2>&1 \
        || die "build failed, see $BUILD_DIR.build.log"
    [[ -x "$SERVER_BIN" ]] || die "build finished but $SERVER_BIN is missing"
    echo "$PATCH_HASH" >"$BIN_STAMP"
}

prepare_sources() {
    local patch_file
    # Always a pristine tree, then the patches (an older patch set or an interrupted run may
    # have left one half-patched). tar keeps the archive's mtimes: make recompiles only what
    # the patches touched.
    rm -rf "$SRC_ROOT"
    extract_sdist
    for patch_file in "${PATCHES[@]}"; do
        patch --quiet --forward --directory "$LLAMA_SRC" -p1 <"$patch_file" \
            || die "patch $patch_file does not apply to $LLAMA_SRC"
    done
    echo "$PATCH_HASH" >"$SRC_STAMP"
}

install_gguf() {
    "$PYTHON" -m pip install --quiet "$GGUF_PIN" || die "pip install $GGUF_PIN failed"
}

make_model() {
    # shellcheck disable=SC2086  # MODEL_ARGS is intentionally word-split
    "$PYTHON" "$HERE/make_tiny_model.py" --vocab "$VOCAB" --out "$MODEL.tmp" $MODEL_ARGS \
        || die "model generation failed"
    mv "$MODEL.tmp" "$MODEL"
    echo "$model_hash" >"$MODEL_STAMP"
}

if [[ -f "$SDIST" ]]; then skip "sdist present ($SDIST)"; else step "download llama-cpp-python $LCP_VERSION sdist" download_sdist; fi
if [[ -d "$LLAMA_SRC" && "$(cat "$SRC_STAMP" 2>/dev/null)" == "$PATCH_HASH" ]]; then
    skip "sources extracted and patched ($LLAMA_SRC)"
else
    step "extract the sdist and apply ${#PATCHES[@]} patches" prepare_sources
fi
# A build dir made before a patch changed is rebuilt in place: make recompiles what changed.
if [[ -x "$SERVER_BIN" && "$(cat "$BIN_STAMP" 2>/dev/null)" == "$PATCH_HASH" ]]; then
    skip "llama-server built"
else
    step "build llama-server (several minutes)" build_server
fi
if "$PYTHON" -c "import gguf" 2>/dev/null; then skip "gguf importable"; else step "pip install $GGUF_PIN" install_gguf; fi

# Regenerate the model when the generator or its arguments change.
model_hash="$( { cat "$HERE/make_tiny_model.py"; echo "$MODEL_ARGS"; } | sha256sum | cut -d' ' -f1)"
if [[ -f "$MODEL" && "$(cat "$MODEL_STAMP" 2>/dev/null)" == "$model_hash" ]]; then
    skip "model up to date ($MODEL)"
else
    step "generate tiny model" make_model
fi

# start.sh reads the paths from here, so they are defined in one place only.
printf 'SERVER_BIN=%q\nMODEL=%q\n' "$SERVER_BIN" "$MODEL" >"$CACHE/local-server.env"
echo "binary: $SERVER_BIN"
echo "model:  $MODEL ($(du -h "$MODEL" | cut -f1))"
