//go:build 386 || amd64 || arm64 || ppc64 || ppc64le || s390x

package words

// Unaligned says whether words may be loaded at any address: these
// architectures load unaligned words as aligned ones (and the compiler
// merges byte loads into them).
const Unaligned = true
