// Package window accounts credits over time: a pool that refills over a rolling
// window, resets at a wall-clock time, or both at once.
package window
