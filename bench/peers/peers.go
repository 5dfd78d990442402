// peers.go — Go's side of the actor and channel benchmarks, with one processor (GOMAXPROCS=1) as
// smarm has: a yield between two goroutines (runtime.Gosched), spawn + join (go + sync.WaitGroup)
// one at a time, in batches of 1000 and a million alive at once, with the minor page faults per
// goroutine that getrusage counts, and resident memory per idle goroutine; then channels: a
// ping-pong between two goroutines (unbuffered and capacity-1 channels), a token passed round a
// ring of 1000 goroutines, and skynet (a tree of 1,111,111 goroutines summing their numbers) with
// the process's peak resident memory. Medians of 9 runs, printed like bench_main.hpp's table.
//
//	go run bench/peers/peers.go
//
// The benchmark programs run the same measurements one at a time, interleaved with their own,
// through the one-shot form, which prints "<ns per operation> <minor faults per operation>" and,
// for skynet, "<peak resident KiB>" (bench/peer.hpp reads it; bench/peers/peers.erl speaks the
// same protocol):
//
//	peers yield <n>                 n Gosched of each of two goroutines
//	peers batch <batch> <rounds>    a warm-up round, then <rounds> rounds of <batch> goroutines
//	peers pingpong <n>              n round trips over two unbuffered channels
//	peers pingpong1 <n>             the same over two channels of capacity 1
//	peers ring <size> <rounds>      a token round a ring of <size> goroutines <rounds> times,
//	                                per hop
//	peers skynet <leaves>           a warm-up tree, then one timed, per tree; <leaves> is a power
//	                                of 10 (1000000 is the benchmark)
//	peers primes <bound> <chunks> <count>         the primes below <bound>, one goroutine per
//	                                              chunk, checked to be <count> (bench_primes)
//	peers primes_serial <bound> <chunks> <count>  the same chunks one after the other
//	peers timer <pending> <n>       n rounds of time.AfterFunc(1 s) + Stop among <pending> timers
//	                                10 to 20 s away (bench_time)
//	peers sleepers <n>              n goroutines sleeping until random deadlines 2 to 3 s ahead:
//	                                the CPU time per goroutine (bench_time)
//	peers timed_pingpong <n>        n round trips between two goroutines whose receives wait at
//	                                most a second, a select on the channel and a timer (bench_time)
//	peers select <n>                n round trips through a goroutine that selects on two
//	                                channels of capacity 1, sent on in turn (bench_time)
//	peers select_timer <n>          the same, its select also on a one-second timer reset each
//	                                round (bench_time)
//	peers mutex <n>                 n sync.Mutex Lock + Unlock without contention (bench_mutex)
//	peers mutex_contended <g> <n>   g goroutines each locking a sync.Mutex n times, with a
//	                                runtime.Gosched while they hold it: per lock (bench_mutex)
package main

import (
	"bufio"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
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

// ---- channels

// Round trips of one value between two goroutines over two channels of capacity `capacity`, one
// each way.
func pingPong(capacity int) func(n int) time.Duration {
	return func(n int) time.Duration {
		ping, pong := make(chan int, capacity), make(chan int, capacity)
		go func() {
			for v := range ping {
				pong <- v
			}
		}()
		start := time.Now()
		for i := 0; i < n; i++ {
			ping <- i
			<-pong
		}
		elapsed := time.Since(start)
		close(ping)
		return elapsed
	}
}

// A token passed round a ring of `size` goroutines `rounds` times over unbuffered channels: each
// receives it from its predecessor's channel and sends it on to its successor's, `rounds` times,
// counting the hops; the first one then receives it once more and hands it back. Setting the ring
// up is not timed.
func ring(size, rounds int) time.Duration {
	links := make([]chan int, size)
	for i := range links {
		links[i] = make(chan int)
	}
	done := make(chan int)
	for i := 0; i < size; i++ {
		in, out := links[i], links[(i+1)%size]
		go func(first bool) {
			for r := 0; r < rounds; r++ {
				out <- 1 + <-in
			}
			if first {
				done <- <-in
			}
		}(i == 0)
	}
	start := time.Now()
	links[0] <- 0
	hops := <-done
	elapsed := time.Since(start)
	if hops != size*rounds {
		fmt.Fprintf(os.Stderr, "peers: the token made %d hops, not %d\n", hops, size*rounds)
		os.Exit(1)
	}
	return elapsed
}

func ringHops(hops int) time.Duration { return ring(1000, hops/1000) }

// Skynet: a goroutine of `size` numbers from `num` on is a leaf that sends its number when size is
// 1, else spawns 10 children of a tenth each and sends the sum of their answers (unbuffered
// channels, as the original).
func skynet(c chan<- int, num, size int) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int)
	for i := 0; i < 10; i++ {
		go skynet(rc, num+i*(size/10), size/10)
	}
	sum := 0
	for i := 0; i < 10; i++ {
		sum += <-rc
	}
	c <- sum
}

// One tree of `leaves` leaves; its sum is checked.
func skynetOnce(leaves int) time.Duration {
	c := make(chan int)
	start := time.Now()
	go skynet(c, 0, leaves)
	sum := <-c
	elapsed := time.Since(start)
	if want := leaves * (leaves - 1) / 2; sum != want {
		fmt.Fprintf(os.Stderr, "peers: skynet summed %d, not %d\n", sum, want)
		os.Exit(1)
	}
	return elapsed
}

func isPowerOf10(n int) bool {
	for n%10 == 0 {
		n /= 10
	}
	return n == 1
}

// statusKiB reads a "<field>: <n> kB" line of /proc/self/status, 0 if it is missing.
func statusKiB(field string) int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.HasPrefix(s.Text(), field+":") {
			v, _ := strconv.Atoi(strings.Fields(s.Text())[1])
			return v
		}
	}
	return 0
}

// Skynet's figures for the table: each run is a fresh process of this program's one-shot form, so
// that its peak resident memory (VmHWM) is skynet's alone, not the million goroutines' above.
func skynetMedians(leaves int) (ms, faults, peakMiB float64, err error) {
	var times, faultRuns, peaks []float64
	for i := 0; i < 9; i++ {
		out, err := exec.Command(os.Args[0], "skynet", strconv.Itoa(leaves)).Output()
		if err != nil {
			return 0, 0, 0, err
		}
		var ns, f, kib float64
		if _, err := fmt.Sscan(string(out), &ns, &f, &kib); err != nil {
			return 0, 0, 0, err
		}
		times = append(times, ns/1e6)
		faultRuns = append(faultRuns, f)
		peaks = append(peaks, kib/1024)
	}
	sort.Float64s(times)
	sort.Float64s(faultRuns)
	sort.Float64s(peaks)
	return times[4], faultRuns[4], peaks[4], nil
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

func idleMemory(n int) {
	runtime.GC()
	before := statusKiB("VmRSS")
	block := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() { <-block; wg.Done() }()
	}
	runtime.Gosched()
	during := statusKiB("VmRSS")
	close(block)
	wg.Wait()
	fmt.Printf("%9d idle goroutines: %8.0f bytes resident per goroutine\n", n,
		float64(during-before)*1024/float64(n))
}

// ---- primes (bench/bench_primes.cpp): the same function as smarm's and tokio's

// The primes in [lo, hi), by trial division by odd numbers.
func countPrimes(lo, hi uint32) uint32 {
	count := uint32(0)
	for n := lo; n < hi; n++ {
		if n < 2 || (n%2 == 0 && n != 2) {
			continue
		}
		prime := true
		for d := uint32(3); d*d <= n; d += 2 {
			if n%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			count++
		}
	}
	return count
}

// ---- time (bench/bench_time.cpp)

// n timers armed for a second and stopped at once, among `pending` timers 10 to 20 s away.
func timerArmStop(pending, n int) time.Duration {
	keep := make([]*time.Timer, pending)
	for i := range keep {
		keep[i] = time.AfterFunc(10*time.Second+time.Duration(rand.Int63n(int64(10*time.Second))), func() {})
	}
	began := time.Now()
	for i := 0; i < n; i++ {
		time.AfterFunc(time.Second, func() {}).Stop()
	}
	took := time.Since(began)
	for _, k := range keep {
		k.Stop()
	}
	return took
}

// n goroutines sleeping until random deadlines 2 to 3 s after the last is started, woken in order;
// the CPU time they cost.
func sleepers(n int) time.Duration {
	offsets := make([]time.Duration, n)
	for i := range offsets {
		offsets[i] = 2*time.Second + time.Duration(rand.Int63n(int64(time.Second)))
	}
	began := cpuTime()
	var wg sync.WaitGroup
	var start time.Time
	ready := make(chan struct{})
	wg.Add(n)
	for _, o := range offsets {
		go func(o time.Duration) {
			defer wg.Done()
			<-ready
			time.Sleep(time.Until(start.Add(o)))
		}(o)
	}
	start = time.Now()
	close(ready)
	wg.Wait()
	return cpuTime() - began
}

// Round trips of one value between two goroutines over two channels of capacity 1, every receive
// waiting at most a second, as bench_time's timeout_round_trip/smarm: Go has no receive with a
// timeout but a select on the channel and a timer, here one timer per goroutine, stopped and reset
// each round as Go 1.19's documentation asks (never fired: every round is answered in time).
func timedPingPong(n int) time.Duration {
	ping, pong := make(chan int, 1), make(chan int, 1)
	recvFor := func(c <-chan int, t *time.Timer) (int, bool) {
		if !t.Stop() {
			<-t.C
		}
		t.Reset(time.Second)
		select {
		case v, ok := <-c:
			return v, ok
		case <-t.C:
			t.Reset(time.Second) // fired and drained: the next Stop finds it armed
			panic("a receive timed out")
		}
	}
	go func() {
		t := time.NewTimer(time.Second)
		defer t.Stop()
		for {
			v, ok := recvFor(ping, t)
			if !ok {
				return
			}
			pong <- v
		}
	}()
	t := time.NewTimer(time.Second)
	defer t.Stop()
	start := time.Now()
	for i := 0; i < n; i++ {
		ping <- i
		recvFor(pong, t)
	}
	elapsed := time.Since(start)
	close(ping)
	return elapsed
}

// Round trips through a goroutine that selects on two channels of capacity 1, the value sent on
// each in turn, and answers on a third; with a timer, its select also waits on a one-second timer,
// stopped and reset each round as Go 1.19's documentation asks (never fired: every round is
// answered in time).
func selectRoundTrip(withTimer bool) func(n int) time.Duration {
	return func(n int) time.Duration {
		a, b, back := make(chan int, 1), make(chan int, 1), make(chan int, 1)
		go func() {
			t := time.NewTimer(time.Second)
			defer t.Stop()
			for {
				var v int
				var ok bool
				if withTimer {
					if !t.Stop() {
						<-t.C
					}
					t.Reset(time.Second)
					select {
					case v, ok = <-a:
					case v, ok = <-b:
					case <-t.C:
						t.Reset(time.Second) // fired and drained: the next Stop finds it armed
						continue
					}
				} else {
					select {
					case v, ok = <-a:
					case v, ok = <-b:
					}
				}
				if !ok {
					return
				}
				back <- v
			}
		}()
		start := time.Now()
		for i := 0; i < n; i++ {
			if i%2 == 0 {
				a <- i
			} else {
				b <- i
			}
			<-back
		}
		elapsed := time.Since(start)
		close(a)
		close(b)
		return elapsed
	}
}

// ---- the mutex (bench/bench_mutex.cpp)

// n Lock + Unlock of a sync.Mutex nobody else wants, touching the value it protects.
func mutexUncontended(n int) time.Duration {
	var m sync.Mutex
	value := 0
	began := time.Now()
	for i := 0; i < n; i++ {
		m.Lock()
		value++
		m.Unlock()
	}
	took := time.Since(began)
	if value != n {
		panic("lost an increment")
	}
	return took
}

// g goroutines each lock m n times and yield while they hold it, so that the others wait.
func mutexContended(g, n int) time.Duration {
	var m sync.Mutex
	var wg sync.WaitGroup
	value := 0
	began := time.Now()
	wg.Add(g)
	for j := 0; j < g; j++ {
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				m.Lock()
				runtime.Gosched()
				value++
				m.Unlock()
			}
		}()
	}
	wg.Wait()
	took := time.Since(began)
	if value != g*n {
		panic("lost a lock")
	}
	return took
}

// The CPU time this process has used (bench_primes reports CPU time: see there).
func cpuTime() time.Duration {
	var u syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// The primes below `bound` in `chunks` chunks, each counted by a goroutine of its own that sends
// its count back through one channel with room for every answer, or serially; the CPU time.
func primes(bound, chunks int, serial bool) (time.Duration, uint32) {
	start := func(i int) uint32 { return uint32(uint64(bound) * uint64(i) / uint64(chunks)) }
	began := cpuTime()
	total := uint32(0)
	if serial {
		for i := 0; i < chunks; i++ {
			total += countPrimes(start(i), start(i+1))
		}
	} else {
		counts := make(chan uint32, chunks)
		for i := 0; i < chunks; i++ {
			go func(i int) { counts <- countPrimes(start(i), start(i+1)) }(i)
		}
		for i := 0; i < chunks; i++ {
			total += <-counts
		}
	}
	return cpuTime() - began, total
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
	case (args[0] == "pingpong" || args[0] == "pingpong1") && len(n) == 1:
		capacity := map[string]int{"pingpong": 0, "pingpong1": 1}[args[0]]
		f0 := minorFaults()
		ns := float64(pingPong(capacity)(n[0]).Nanoseconds()) / float64(n[0])
		fmt.Printf("%.3f %.6f\n", ns, float64(minorFaults()-f0)/float64(n[0]))
	case args[0] == "ring" && len(n) == 2:
		f0 := minorFaults()
		hops := n[0] * n[1]
		ns := float64(ring(n[0], n[1]).Nanoseconds()) / float64(hops)
		fmt.Printf("%.3f %.6f\n", ns, float64(minorFaults()-f0)/float64(hops))
	case args[0] == "skynet" && len(n) == 1 && isPowerOf10(n[0]):
		skynetOnce(n[0])
		f0 := minorFaults()
		ns := float64(skynetOnce(n[0]).Nanoseconds())
		fmt.Printf("%.3f %.6f %d\n", ns, float64(minorFaults()-f0), statusKiB("VmHWM"))
	case args[0] == "timer" && len(n) == 2:
		ns := float64(timerArmStop(n[0], n[1]).Nanoseconds()) / float64(n[1])
		fmt.Printf("%.3f %.6f\n", ns, 0.0)
	case args[0] == "sleepers" && len(n) == 1:
		f0 := minorFaults()
		ns := float64(sleepers(n[0]).Nanoseconds()) / float64(n[0])
		fmt.Printf("%.3f %.6f\n", ns, float64(minorFaults()-f0)/float64(n[0]))
	case args[0] == "timed_pingpong" && len(n) == 1:
		ns := float64(timedPingPong(n[0]).Nanoseconds()) / float64(n[0])
		fmt.Printf("%.3f %.6f\n", ns, 0.0)
	case (args[0] == "select" || args[0] == "select_timer") && len(n) == 1:
		f0 := minorFaults()
		ns := float64(selectRoundTrip(args[0] == "select_timer")(n[0]).Nanoseconds()) / float64(n[0])
		fmt.Printf("%.3f %.6f\n", ns, float64(minorFaults()-f0)/float64(n[0]))
	case args[0] == "mutex" && len(n) == 1:
		ns := float64(mutexUncontended(n[0]).Nanoseconds()) / float64(n[0])
		fmt.Printf("%.3f %.6f\n", ns, 0.0)
	case args[0] == "mutex_contended" && len(n) == 2:
		ns := float64(mutexContended(n[0], n[1]).Nanoseconds()) / float64(n[0]*n[1])
		fmt.Printf("%.3f %.6f\n", ns, 0.0)
	case (args[0] == "primes" || args[0] == "primes_serial") && len(n) == 3:
		f0 := minorFaults()
		elapsed, total := primes(n[0], n[1], args[0] == "primes_serial")
		if int(total) != n[2] {
			fmt.Fprintf(os.Stderr, "peers: counted %d primes, not %d\n", total, n[2])
			os.Exit(1)
		}
		fmt.Printf("%.3f %.6f\n", float64(elapsed.Nanoseconds()), float64(minorFaults()-f0))
	default:
		fmt.Fprintln(os.Stderr, "usage: peers [yield <n> | batch <batch> <rounds> | pingpong <n> |"+
			" pingpong1 <n> | ring <size> <rounds> | skynet <leaves, a power of 10> |"+
			" primes <bound> <chunks> <count> | primes_serial <bound> <chunks> <count> |"+
			" timer <pending> <n> | sleepers <n> | timed_pingpong <n> | select <n> | select_timer <n> |"+
			" mutex <n> | mutex_contended <goroutines> <n>]")
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
	for capacity, name := range []string{"pingpong/go_unbuffered", "pingpong/go_capacity_1"} {
		ns := median(pingPong(capacity), 1000000)
		fmt.Printf("  %-28s %8.2f ns per round trip\n", name, ns)
	}
	fmt.Printf("  ring/go                      %8.2f ns per hop\n", median(ringHops, 1000000))
	ms, faults, peak, err := skynetMedians(1000000)
	if err != nil {
		fmt.Fprintf(os.Stderr, "peers: skynet: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("  skynet/go                    %8.2f ms per tree   %8.0f faults   %6.1f MiB peak"+
		" resident\n", ms, faults, peak)
}
