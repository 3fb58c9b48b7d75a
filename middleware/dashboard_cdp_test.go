package middleware

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// chromium finds a headless-capable Chromium: $CREDITGATE_CHROMIUM (set by
// scripts/test.sh), else chromium on the PATH. Without one the test fails in CI
// (CI=true) and is skipped, saying so, elsewhere.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CREDITGATE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("headless Chromium is required in CI: apt-get install chromium, or set CREDITGATE_CHROMIUM")
	}
	t.Skip("headless Chromium not found (apt-get install chromium, or set CREDITGATE_CHROMIUM); skipping the browser test outside CI")
	return ""
}

// browser drives one headless Chromium page over the DevTools protocol on
// a pipe (--remote-debugging-pipe: JSON messages ending in a NUL byte,
// ours on its fd 3, its own on fd 4), so that a test can click, type and
// read the page as a user would, with no library and no network port.
type browser struct {
	t       *testing.T
	cmd     *exec.Cmd
	w       io.WriteCloser
	msgs    chan map[string]json.RawMessage
	done    chan struct{} // closed when the reader has exited
	next    int
	session string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	bin := chromium(t)
	toChrome, ourEnd, err := os.Pipe()
	require.NoError(t, err)
	fromChrome, theirEnd, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--disable-dev-shm-usage", "--remote-debugging-pipe", "--user-data-dir="+t.TempDir(), "about:blank")
	cmd.ExtraFiles = []*os.File{toChrome, theirEnd}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	_ = toChrome.Close()
	_ = theirEnd.Close()
	b := &browser{t: t, cmd: cmd, w: ourEnd, msgs: make(chan map[string]json.RawMessage, 64), done: make(chan struct{})}
	go b.read(fromChrome)
	t.Cleanup(func() {
		_ = b.w.Close() // Chromium exits when its pipe closes
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		_ = fromChrome.Close()
		<-b.done
		if t.Failed() {
			var lines []string
			for _, l := range strings.Split(stderr.String(), "\n") {
				if !strings.Contains(l, "dbus") { // a container has no D-Bus: noise
					lines = append(lines, l)
				}
			}
			t.Logf("chromium's stderr:\n%s", strings.Join(lines, "\n"))
		}
	})
	var target struct{ TargetID string }
	b.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var attached struct{ SessionID string }
	b.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	b.session = attached.SessionID
	return b
}

func (b *browser) read(r io.Reader) {
	defer close(b.done)
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		msg, err := br.ReadBytes(0)
		if err != nil {
			close(b.msgs)
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(msg[:len(msg)-1], &m) == nil && m["id"] != nil {
			b.msgs <- m // events (no id) are not used
		}
	}
}

// call sends a command (to the page's session unless session is "") and
// decodes its result into out.
func (b *browser) call(session, method string, params map[string]any, out any) {
	b.t.Helper()
	b.next++
	msg := map[string]any{"id": b.next, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	buf, err := json.Marshal(msg)
	require.NoError(b.t, err)
	_, err = b.w.Write(append(buf, 0))
	require.NoError(b.t, err)
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m, ok := <-b.msgs:
			require.True(b.t, ok, "chromium closed the pipe during %s", method)
			var id int
			_ = json.Unmarshal(m["id"], &id)
			if id != b.next {
				continue
			}
			require.Nil(b.t, m["error"], "%s: %s", method, m["error"])
			if out != nil {
				require.NoError(b.t, json.Unmarshal(m["result"], out))
			}
			return
		case <-timeout:
			b.t.Fatalf("chromium did not answer %s", method)
		}
	}
}

// eval runs a JavaScript expression in the page (awaiting a promise) and
// returns its value decoded as JSON into a T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	var res struct {
		Result           struct{ Value json.RawMessage }
		ExceptionDetails *struct {
			Text      string
			Exception struct{ Description string }
		}
	}
	b.call(b.session, "Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true}, &res)
	require.Nil(b.t, res.ExceptionDetails, "%s: %+v", expr, res.ExceptionDetails)
	var v T
	if len(res.Result.Value) > 0 {
		require.NoError(b.t, json.Unmarshal(res.Result.Value, &v), "%s: %s", expr, res.Result.Value)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds (a bound for slow
// machines: the page answers in milliseconds).
func (b *browser) waitFor(cond string) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !eval[bool](b, "Boolean("+cond+")") {
		if eval[bool](b, "document.getElementById('status')?.getAttribute('data-state') === 'error'") || time.Now().After(deadline) {
			b.t.Fatalf("page never had %s; status: %q", cond, eval[string](b, "document.getElementById('status').textContent"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// loads returns how many times the page has finished loading its data.
func (b *browser) loads() int {
	return eval[int](b, "Number(document.body.getAttribute('data-loads'))")
}

// act runs a JavaScript action that makes the page load its data again,
// and waits until it has.
func (b *browser) act(js string) {
	b.t.Helper()
	n := b.loads()
	eval[any](b, js)
	b.waitFor(fmt.Sprintf("document.body.getAttribute('data-ready') === 'true' && Number(document.body.getAttribute('data-loads')) > %d", n))
}

// open navigates to url and waits until the new page has loaded its data.
func (b *browser) open(url string) {
	b.t.Helper()
	b.navigate(url)
	b.waitFor("document.body && document.body.getAttribute('data-ready') === 'true'")
}

// navigate loads url and waits for the new document (not its data). Not
// with waitFor: until the new document replaces it, the old one may still
// load data and fail (browseNoToken clears its token first: its next
// refresh gets a 401), and its error status is not the new page's.
func (b *browser) navigate(url string) {
	b.t.Helper()
	before := eval[float64](b, "performance.timeOrigin")
	b.call(b.session, "Page.navigate", map[string]any{"url": url}, nil)
	cond := fmt.Sprintf("performance.timeOrigin !== %v && document.readyState === 'complete'", before)
	for deadline := time.Now().Add(15 * time.Second); !eval[bool](b, "Boolean("+cond+")"); {
		if time.Now().After(deadline) {
			b.t.Fatalf("no new document at %s", url)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// key presses a key (Tab, Enter) in the page, as the keyboard does.
func (b *browser) key(name string) {
	b.t.Helper()
	codes := map[string]int{"Tab": 9, "Enter": 13}
	ev := map[string]any{"key": name, "code": name, "windowsVirtualKeyCode": codes[name]}
	if name == "Enter" {
		ev["text"] = "\r"
	}
	for _, typ := range []string{"keyDown", "keyUp"} {
		ev["type"] = typ
		b.call(b.session, "Input.dispatchKeyEvent", ev, nil)
	}
}

// viewport sets the page's width and height in CSS pixels.
func (b *browser) viewport(w, h int) {
	b.t.Helper()
	b.call(b.session, "Emulation.setDeviceMetricsOverride", map[string]any{"width": w, "height": h, "deviceScaleFactor": 1, "mobile": w < 600}, nil)
}

// screenshot returns a PNG of the whole page at the viewport's width.
func (b *browser) screenshot() []byte {
	b.t.Helper()
	var shot struct{ Data string }
	b.call(b.session, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	require.NoError(b.t, err)
	return png
}

func jsString(s string) string {
	buf, _ := json.Marshal(s)
	return string(buf)
}
