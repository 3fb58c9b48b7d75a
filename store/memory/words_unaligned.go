//go:build 386 || amd64 || arm64 || ppc64 || ppc64le || s390x

package memory

// wordKeys says whether keyIs may load words at any address: these
// architectures load unaligned words as aligned ones.
const wordKeys = true
