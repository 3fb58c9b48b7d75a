package usage_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/creditgate/creditgate/usage"
)

// A tenant whose name is not valid UTF-8 (or is longer than
// usage.MaxKeyBytes) is listed under a changed key: valid UTF-8, "…" and a
// hash. TenantName gives back the name, which a dashboard asks a limiter
// for that tenant's pool by.
func ExampleStats_TenantName() {
	u := usage.New(0, 0)
	defer u.Close(context.Background())
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	u.Record(usage.Event{At: at, Tenant: "globex", App: "sync", Credits: 2})
	u.Record(usage.Event{At: at, Tenant: "\xffacme", App: "sync", Credits: 3})
	for _, key := range u.Tenants() {
		name, ok := u.TenantName(key)
		shown, _, changed := strings.Cut(key, "…") // what is shown of the name, and whether a hash follows
		fmt.Printf("listed as %q (changed: %v): %q %v\n", shown, changed, name, ok)
	}
	fmt.Println(u.TenantName("initech"))
	// Output:
	// listed as "globex" (changed: false): "globex" true
	// listed as "�acme" (changed: true): "\xffacme" true
	//  false
}
