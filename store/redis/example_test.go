package redis_test

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/store/redis"
)

// A limiter whose tenants' pools and slots live in Redis: every instance
// built this way on the same Redis shares them.
func ExampleNew() {
	rdb := goredis.NewClient(&goredis.Options{Addr: redis.ServerAddr(), ContextTimeoutEnabled: true})
	defer rdb.Close()
	prefix := fmt.Sprintf("example-%d:", time.Now().UnixNano()) // a fresh pool for each run
	rs, err := redis.New(rdb, redis.WithPrefix(prefix), redis.WithFailure(redis.Degraded, 4))
	if err != nil {
		panic(err)
	}
	defer rs.Close(context.Background())
	l, err := limiter.New(limiter.Plan{Credits: 100, Window: time.Hour, Concurrency: 2}, limiter.WithStore(rs))
	if err != nil {
		panic(err)
	}
	defer l.Close(context.Background())

	tk, d := l.Acquire(time.Now(), limiter.Request{Tenant: "acme", App: "crm-sync", Credits: 10})
	fmt.Println(d.Allowed, d.Remaining, d.Used)
	tk.Release()
	// Output: true 90 10
}
