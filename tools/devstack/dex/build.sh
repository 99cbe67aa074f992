#!/usr/bin/env bash
# Builds Dex (the OpenID Connect provider in front of LDAP used by the sign-in tests and
# `make sso-up`) at the version pinned in tools/devstack/dex/go.mod.
#
# Needs only Go and access to a Go module proxy. The binary goes to
#   ${DEX_BIN_DIR:-$HOME/.cache/pipeline-secrets/dex/<dex-version>-<go.sum digest>}
# and the build is skipped when it is already there. The last line printed on stdout is
# that directory; everything else goes to stderr.
#
# Knobs: DEX_BIN_DIR (output folder), GO (go binary), DEX_BUILD_PARALLEL (go build -p,
# default 2), DEX_BUILD_NICE (nice level, default 19).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

# The release this pseudo-version is: Dex's module path has no /v2, so its tags are not
# module versions.
dex_release=v2.45.1

GO="${GO:-}"
if [[ -z "$GO" ]]; then
    if command -v go >/dev/null 2>&1; then
        GO="$(command -v go)"
    elif [[ -x /usr/local/go/bin/go ]]; then
        GO=/usr/local/go/bin/go
    else
        echo "build.sh: Go is not installed (looked on PATH and in /usr/local/go/bin)" >&2
        exit 1
    fi
fi

# go.mod and go.sum are committed and complete, so the build is read-only on them.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly -buildvcs=false"
export CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

sum_digest="$(sha256sum go.sum | cut -c1-12)"
bin_dir="${DEX_BIN_DIR:-${HOME}/.cache/pipeline-secrets/dex/${dex_release}-${sum_digest}}"

if [[ -x "$bin_dir/dex" ]]; then
    echo "build.sh: dex already built in $bin_dir" >&2
    echo "$bin_dir"
    exit 0
fi

parallel="${DEX_BUILD_PARALLEL:-2}"
nice_level="${DEX_BUILD_NICE:-19}"

mkdir -p "$bin_dir"
stage="$(mktemp -d "$bin_dir/.build.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

echo "build.sh: building dex $dex_release -> $bin_dir ..." >&2
start=$SECONDS
nice -n "$nice_level" "$GO" build -p "$parallel" -trimpath -o "$stage/dex" \
    -ldflags "-s -w -X main.version=$dex_release" github.com/dexidp/dex/cmd/dex >&2
echo "build.sh: built dex in $((SECONDS - start))s" >&2
mv -f "$stage/dex" "$bin_dir/dex"
echo "$bin_dir"
