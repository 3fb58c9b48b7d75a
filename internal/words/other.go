//go:build !(386 || amd64 || arm64 || ppc64 || ppc64le || s390x)

package words

// Unaligned is false where an unaligned load may fault or trap: Equal is
// then ==.
const Unaligned = false
