// Command echo is the test bed suite's workload image: a tiny HTTP server, an HTTP client
// and a CPU burner in one static binary.
//
//	echo serve [ADDR]        answer GET / with "hello from <hostname>"
//	echo get URL [SECONDS]   print the body of URL; exit 1 on error or non-200
//	echo burn                spin one CPU forever
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: echo serve [ADDR] | get URL [SECONDS] | burn")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		addr := ":8080"
		if len(os.Args) > 2 {
			addr = os.Args[2]
		}
		host, _ := os.Hostname()
		http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, "hello from %s\n", host)
		})
		fmt.Println("listening on", addr)
		if err := http.ListenAndServe(addr, nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "get":
		timeout := 5 * time.Second
		if len(os.Args) > 3 {
			secs, err := strconv.Atoi(os.Args[3])
			if err != nil {
				fmt.Fprintln(os.Stderr, "bad timeout:", err)
				os.Exit(2)
			}
			timeout = time.Duration(secs) * time.Second
		}
		client := &http.Client{Timeout: timeout}
		resp, err := client.Get(os.Args[2])
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Print(string(body))
		if resp.StatusCode != http.StatusOK {
			fmt.Println("status:", resp.Status)
			os.Exit(1)
		}
	case "burn":
		for x := 0; ; x++ {
			_ = x * x
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}
