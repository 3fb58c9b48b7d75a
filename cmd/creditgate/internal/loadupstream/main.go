// Command loadupstream is the upstream of scripts/gateway-load.sh: it answers
// every request with 200 and a small JSON body, optionally after a fixed
// delay, so that the load test measures the proxies in front of it.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	delay := flag.Duration("delay", 0, "time each response waits before it is written")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadupstream:", err)
		os.Exit(1)
	}
	body := []byte(`{"data":[{"id":"4150868000000224005","Last_Name":"Smith","Company":"Zylker"}],"info":{"count":1,"more_records":false}}` + "\n")
	fmt.Println(ln.Addr().String()) // the script reads the address from here
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if *delay > 0 {
				time.Sleep(*delay)
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}),
	}
	fmt.Fprintln(os.Stderr, "loadupstream:", srv.Serve(ln))
}
