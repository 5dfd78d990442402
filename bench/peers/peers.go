// peers.go — Go's side of the actor benchmarks, with one processor (GOMAXPROCS=1) as smarm has:
// a yield between two goroutines (runtime.Gosched), spawn + join (go + sync.WaitGroup), and
// resident memory per idle goroutine. Medians of 9 runs, printed like bench_main.hpp's table.
//   go run bench/peers/peers.go
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

func median(f func(n int) time.Duration, n int) float64 {
	var runs []float64
	for i := 0; i < 9; i++ {
		runs = append(runs, float64(f(n).Nanoseconds())/float64(n))
	}
	sort.Float64s(runs)
	return runs[4]
}

// One iteration is one Gosched of each of two goroutines: reported per Gosched.
func yield(n int) time.Duration {
	var wg sync.WaitGroup
	stop := false
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop {
			runtime.Gosched()
		}
	}()
	runtime.Gosched()
	start := time.Now()
	for i := 0; i < n; i++ {
		runtime.Gosched()
	}
	elapsed := time.Since(start)
	stop = true
	wg.Wait()
	return elapsed / 2
}

func spawnJoin(n int) time.Duration {
	start := time.Now()
	for i := 0; i < n; i++ {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { wg.Done() }()
		wg.Wait()
	}
	return time.Since(start)
}

func residentKiB() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.HasPrefix(s.Text(), "VmRSS:") {
			v, _ := strconv.Atoi(strings.Fields(s.Text())[1])
			return v
		}
	}
	return 0
}

func idleMemory(n int) {
	runtime.GC()
	before := residentKiB()
	block := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() { <-block; wg.Done() }()
	}
	runtime.Gosched()
	during := residentKiB()
	close(block)
	wg.Wait()
	fmt.Printf("%9d idle goroutines: %8.0f bytes resident per goroutine\n", n,
		float64(during-before)*1024/float64(n))
}

func main() {
	runtime.GOMAXPROCS(1)
	fmt.Printf("Go %s, GOMAXPROCS=1, medians of 9 runs:\n", runtime.Version())
	fmt.Printf("  yield/go_gosched             %8.2f ns\n", median(yield, 2000000))
	fmt.Printf("  spawn_join/go_goroutine      %8.2f ns\n", median(spawnJoin, 200000))
	idleMemory(100000)
	idleMemory(1000000)
}
