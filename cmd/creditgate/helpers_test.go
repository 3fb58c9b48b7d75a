package main

// End-to-end tests: the binary, built once by TestMain, run as a process on
// loopback in front of an upstream the test runs, driven by signals and
// HTTP, and read through its JSON log lines.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var binary string // the creditgate binary under test

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "creditgate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "creditgate")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", binary, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// gatewayProc is one running creditgate process.
type gatewayProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and its log is read
	err  error         // Wait's, once done

	mu    sync.Mutex
	lines []map[string]any // the JSON log lines so far
	raw   bytes.Buffer     // every line, for failure messages

	proxy, admin string // host:port of the two listeners
}

// startGateway runs `creditgate serve` with args on loopback ports of its
// own choosing and waits until it listens.
func startGateway(t *testing.T, env []string, args ...string) *gatewayProc {
	t.Helper()
	all := append([]string{"serve", "-listen", "127.0.0.1:0", "-dashboard", "127.0.0.1:0", "-log-format", "json"}, args...)
	p := &gatewayProc{t: t, cmd: exec.Command(binary, all...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var line map[string]any
			_ = json.Unmarshal(sc.Bytes(), &line)
			p.mu.Lock()
			p.raw.Write(sc.Bytes())
			p.raw.WriteByte('\n')
			if line != nil {
				p.lines = append(p.lines, line)
			}
			p.mu.Unlock()
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	l := p.waitLog("listening", 20*time.Second)
	p.proxy = l["proxy"].(string)
	if d, ok := l["dashboard"].(string); ok {
		p.admin = strings.TrimSuffix(strings.TrimPrefix(d, "http://"), "/dashboard/")
	}
	return p
}

// waitLog waits for a log line whose message contains msg and returns it.
func (p *gatewayProc) waitLog(msg string, timeout time.Duration) map[string]any {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		p.mu.Lock()
		for _, l := range p.lines {
			if m, _ := l["msg"].(string); strings.Contains(m, msg) {
				p.mu.Unlock()
				return l
			}
		}
		p.mu.Unlock()
		select {
		case <-p.done:
			// one last look: the line may have come with the exit
			if l := p.findLog(msg); l != nil {
				return l
			}
			p.t.Fatalf("gateway exited (%v) without logging %q; log:\n%s", p.err, msg, p.log())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no %q in the log after %v:\n%s", msg, timeout, p.log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *gatewayProc) findLog(msg string) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines {
		if m, _ := l["msg"].(string); strings.Contains(m, msg) {
			return l
		}
	}
	return nil
}

func (p *gatewayProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

func (p *gatewayProc) signal(s syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(s); err != nil {
		p.t.Fatal(err)
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *gatewayProc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("gateway did not exit within %v; log:\n%s", timeout, p.log())
	}
	return p.cmd.ProcessState.ExitCode()
}

// runCLI runs the binary to completion and returns its exit code and output.
func runCLI(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%v did not exit", args)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
