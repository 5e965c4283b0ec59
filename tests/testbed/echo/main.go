// Command echo is the test bed suite's workload image: a tiny HTTP server, an HTTP client
// and a CPU burner in one static binary.
//
//	echo serve [ADDR]        answer GET / with "hello from <hostname>"
//	echo get URL [SECONDS] [ATTEMPTS]
//	                         print the body of URL; exit 1 when every attempt failed
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
		// get URL [SECONDS] [ATTEMPTS]: one second between attempts
		if len(os.Args) < 3 {
			fmt.Fprintln(os.Stderr, "usage: echo get URL [SECONDS] [ATTEMPTS]")
			os.Exit(2)
		}
		timeout, attempts := 5, 1
		for i, dst := range []*int{&timeout, &attempts} {
			if len(os.Args) > 3+i {
				n, err := strconv.Atoi(os.Args[3+i])
				if err != nil || n < 1 {
					fmt.Fprintln(os.Stderr, "bad number:", os.Args[3+i])
					os.Exit(2)
				}
				*dst = n
			}
		}
		client := &http.Client{Timeout: time.Duration(timeout) * time.Second}
		for i := 1; ; i++ {
			body, err := get(client, os.Args[2])
			if err == nil {
				fmt.Print(body)
				return
			}
			fmt.Printf("attempt %d: error: %v\n", i, err)
			if i >= attempts {
				os.Exit(1)
			}
			time.Sleep(time.Second)
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

func get(client *http.Client, url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %s", resp.Status)
	}
	return string(body), nil
}
