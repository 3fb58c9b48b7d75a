package memory

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/creditgate/creditgate/store"
)

// The streaming reader matches field names as encoding/json does (case
// folded, also the Kelvin sign as k and the long s as s), and so accepts
// and refuses what decoding the whole snapshot with DisallowUnknownFields
// does, for header-first snapshots of one value. Holds.
func TestRestoreFieldNamesAsEncodingJSON(t *testing.T) {
	empty := "{\"format\":\"creditgate-limiter-snapshot\",\"version\":2,\"taken\":1,\"tenants\":[{}]}" // decoded, not restored: nothing out
	ret := `[{"at":1772370000000000000,"credits":5}]`
	for _, in := range []string{
		`{"FORMAT":"creditgate-limiter-snapshot","Version":2,"ta\u212aen":1,"tenant\u017f":[{"TENANT":"a","Returns":` + ret + `,"WINDOW":3600000000000}]}`,
		"{\"format\":\"creditgate-limiter-snapshot\",\"version\":2,\"ta\u212aen\":1,\"tenant\u017f\":[{\"TENANT\":\"a\",\"Returns\":" + ret + ",\"WINDOW\":3600000000000}]}",
		"{\"format\":\"creditgate-limiter-snapshot\",\"version\":3,\"taken\":1,\"tenants\":[{\"Tenant_Bytes\":\"/w==\",\"returns\":" + ret + "}]}",
		"{\"format\":\"creditgate-limiter-snapshot\",\"version\":3,\"taken\":1,\"tenants\":[{\"tenant_bytes\":\"/w==\",\"tenant_bytes\":null,\"returns\":" + ret + "}]}",
		"{\"format\":\"creditgate-limiter-snapshot\",\"version\":3,\"taken\":1,\"tenants\":[{\"tenant_bytes\":\"/w==\",\"tenant\":\"a\",\"tenant\":\"\",\"returns\":" + ret + "}]}",
		"{\"format\":\"creditgate-limiter-snapshot\",\"version\":2,\"taken\":1,\"tenants\":[{\"tenant\":\"a\",\"returns\":" + ret + ",\"window\":3600000000000,\"window\":null}]}",
		"{\"format\":\"creditgate-limiter-snapshot\",\"version\":2,\"taken\":1,\"tenants\":[]} \n",
		"{\"format\":\"creditgate-limiter-snapshot\",\"version\":2,\"taken\":1}",
		empty,
		"{\"format\":\"creditgate-limiter-snapshot\",\"version\":2,\"taken\":1,\"tenants\":[{\"tenant\":\"a\",\"returns\":" + ret + ",\"windows\":1}]}",
		"{\"format\":\"creditgate-limiter-snapshot\",\"version\":2,\"taken\":1,\"Tenants\":[{\"tenant\":\"a\",\"returns\":[{\"at\":\"1772370000000000000\",\"credits\":5}]}]}",
		"{\"format\":\"creditgate-limiter-snapshot\",\"version\":\"2\",\"taken\":1,\"tenants\":[]}",
		"{\"format\":\"creditgate-limiter-snapshot\",\"version\":2,\"taken\":1,\"tenant\":[]}", "{\"format\":\"creditgate-limiter-snapshot\",\"version\":2,\"taken\":1,\"tenants\":[{\"tenant\":\"a\",\"returns\":" + ret + "},{\"tenant\":\"A\",\"returns\":" + ret + "}]}",
	} {
		var snap snapshot
		dec := json.NewDecoder(strings.NewReader(in))
		dec.DisallowUnknownFields()
		oerr := dec.Decode(&snap)
		s := New()
		nerr := s.RestoreAt(foldT0, strings.NewReader(in), foldPlans)
		if (oerr == nil) != (nerr == nil) || nerr != nil && !errors.Is(nerr, store.ErrSnapshotCorrupt) {
			t.Errorf("%q: decoded whole: %v; restored: %v", in, oerr, nerr)
		}
		if want := len(snap.Tenants); nerr == nil && s.Len()+s.Folded() != want && in != empty {
			t.Errorf("%q: %d restored of %d", in, s.Len()+s.Folded(), want)
		}
	}
}
