//go:build tools

// Package tools pins the Dex release that the sign-in tests and `make sso-up` run
// (v2.45.1, reachable from the module proxy only as a pseudo-version).
package tools

import _ "github.com/dexidp/dex/cmd/dex"
