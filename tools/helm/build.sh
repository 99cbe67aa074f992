#!/usr/bin/env bash
# Builds `helm` (the chart tests and the README's chart instructions use it) from its Go
# module, once: the binary goes to
#   ${HELM_BIN_DIR:-$HOME/.cache/pipeline-secrets/helm/<version>}/helm
# and the build is skipped when it is already there. The last line printed on stdout is the
# path of the binary; everything else goes to stderr.
#
# Knobs: HELM_VERSION, HELM_BIN_DIR, GO (go binary), HELM_BUILD_PARALLEL (go build -p,
# default 2), HELM_BUILD_NICE (nice level, default 19).
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.21.4}"

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

bin_dir="${HELM_BIN_DIR:-${HOME}/.cache/pipeline-secrets/helm/${HELM_VERSION}}"
if [[ -x "$bin_dir/helm" ]]; then
    echo "build.sh: helm ${HELM_VERSION} already built in $bin_dir" >&2
    echo "$bin_dir/helm"
    exit 0
fi

export CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false"
mkdir -p "$bin_dir"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "build.sh: building helm ${HELM_VERSION} (a few minutes, once)" >&2
GOBIN="$tmp" nice -n "${HELM_BUILD_NICE:-19}" "$GO" install -p "${HELM_BUILD_PARALLEL:-2}" \
    -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}" \
    "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}" >&2
mv "$tmp/helm" "$bin_dir/helm"
echo "$bin_dir/helm"
