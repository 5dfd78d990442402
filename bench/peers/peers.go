// peers.go — Go's side of the actor benchmarks, with one processor (GOMAXPROCS=1) as smarm has:
// a yield between two goroutines (runtime.Gosched), spawn + join (go + sync.WaitGroup) one at a
// time, in batches of 1000 and a million alive at once, with the minor page faults per goroutine
// that getrusage counts, and resident memory per idle goroutine. Medians of 9 runs, printed like
// bench_main.hpp's table.
//
//	go run bench/peers/peers.go
//
// bench_actors runs the same measurements one at a time, interleaved with its own, through the
// one-shot form, which prints "<ns per operation> <minor faults per operation>":
//
//	peers yield <n>                 n Gosched of each of two goroutines
//	peers batch <batch> <rounds>    a warm-up round, then <rounds> rounds of <batch> goroutines
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
	"syscall"
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

func minorFaults() int64 {
	var u syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return u.Minflt
}

// Spawns `rounds` times `batch` goroutines and waits for them all; time and faults per goroutine.
func batchOnce(batch, rounds int) (float64, float64) {
	f0 := minorFaults()
	start := time.Now()
	for i := 0; i < rounds; i++ {
		var wg sync.WaitGroup
		wg.Add(batch)
		for j := 0; j < batch; j++ {
			go func() { wg.Done() }()
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	n := float64(batch * rounds)
	return float64(elapsed.Nanoseconds()) / n, float64(minorFaults()-f0) / n
}

// One warm-up round, then the medians of 9 measured ones (smarm's bench_actors measures the same
// shape).
func batch(batch, rounds int) (float64, float64) {
	batchOnce(batch, rounds)
	var times, faults []float64
	for r := 0; r < 9; r++ {
		t, f := batchOnce(batch, rounds)
		times = append(times, t)
		faults = append(faults, f)
	}
	sort.Float64s(times)
	sort.Float64s(faults)
	return times[4], faults[4]
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.HasPrefix(s.Text(), "model name") {
			return strings.TrimSpace(strings.SplitN(s.Text(), ":", 2)[1])
		}
	}
	return "unknown CPU"
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

// The one-shot form (see the top of the file).
func oneShot(args []string) {
	n := make([]int, len(args)-1)
	for i, a := range args[1:] {
		v, err := strconv.Atoi(a)
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "peers: %q is not a positive count\n", a)
			os.Exit(2)
		}
		n[i] = v
	}
	switch {
	case args[0] == "yield" && len(n) == 1:
		f0 := minorFaults()
		ns := float64(yield(n[0]).Nanoseconds()) / float64(n[0])
		fmt.Printf("%.3f %.6f\n", ns, float64(minorFaults()-f0)/float64(2*n[0]))
	case args[0] == "batch" && len(n) == 2:
		batchOnce(n[0], n[1])
		ns, faults := batchOnce(n[0], n[1])
		fmt.Printf("%.3f %.6f\n", ns, faults)
	default:
		fmt.Fprintln(os.Stderr, "usage: peers [yield <n> | batch <batch> <rounds>]")
		os.Exit(2)
	}
}

func main() {
	runtime.GOMAXPROCS(1)
	if len(os.Args) > 1 {
		oneShot(os.Args[1:])
		return
	}
	fmt.Printf("%s, %s\n", cpuModel(), time.Now().Format("2006-01-02"))
	fmt.Printf("Go %s, GOMAXPROCS=1, medians of 9 runs:\n", runtime.Version())
	fmt.Printf("  yield/go_gosched             %8.2f ns\n", median(yield, 2000000))
	for _, shape := range []struct {
		name          string
		batch, rounds int
	}{{"spawn_join_x1", 1, 200000}, {"spawn_join_x1000", 1000, 200}, {"spawn_join_x1M", 1000000, 1}} {
		ns, faults := batch(shape.batch, shape.rounds)
		fmt.Printf("  %-28s %8.2f ns   %6.3f faults per goroutine\n", shape.name+"/go", ns, faults)
	}
	idleMemory(100000)
	idleMemory(1000000)
}
