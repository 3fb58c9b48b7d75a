//go:build !(386 || amd64 || arm64 || ppc64 || ppc64le || s390x)

package memory

// wordKeys is false where an unaligned load may fault or trap: keys are
// compared with == (otherKey).
const wordKeys = false
