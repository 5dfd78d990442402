// main.rs — tokio's side of the benchmarks, on its current-thread runtime (one thread, as smarm
// runs): a yield between two tasks, spawn + join in batches, a ping-pong and a ring over mpsc
// channels of capacity 1 (tokio has no unbuffered channel), skynet (a tree of 1,111,111 tasks) with
// the process's peak resident memory, and the primes of bench/bench_primes.cpp counted by one task
// per chunk or serially. It speaks bench/peers/peers.go's one-shot protocol: `tokio_peer
// <measurement> <counts...>` prints "<ns per operation> <minor faults per operation>" and, for
// skynet, "<peak resident KiB>":
//
//     tokio_peer yield <n>                          n yield_now() of each of two tasks
//     tokio_peer batch <batch> <rounds>             a warm-up round, then <rounds> rounds of <batch>
//                                                   tasks spawned, then joined
//     tokio_peer pingpong1 <n>                      n round trips over two channels of capacity 1
//     tokio_peer ring <size> <rounds>               a token round a ring of <size> tasks <rounds>
//                                                   times, per hop
//     tokio_peer skynet <leaves>                    a warm-up tree, then one timed; <leaves> is a
//                                                   power of 10
//     tokio_peer primes <bound> <chunks> <count>    the primes below <bound>, one task per chunk,
//                                                   checked to be <count>
//     tokio_peer primes_serial <bound> <chunks> <count>   the same chunks one after the other
use std::future::Future;
use std::pin::Pin;
use std::process::exit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

fn fail(message: String) -> ! {
    eprintln!("tokio_peer: {message}");
    exit(1);
}

// Field 10 of /proc/self/stat, counted after the command name's ')' (which may hold spaces).
fn minor_faults() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
    after.split_whitespace().nth(7).and_then(|f| f.parse().ok()).unwrap_or(0.0)
}

// A "<field>: <n> kB" line of /proc/self/status, 0 if it is missing.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let prefix = format!("{field}:");
    status
        .lines()
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

// ---- the measurements, each run inside the runtime

// n yields of the caller while a partner yields too: per yield of each.
async fn yield_pair(n: u64) -> Duration {
    let stop = Arc::new(AtomicBool::new(false));
    let partner_stop = stop.clone();
    let partner = tokio::spawn(async move {
        while !partner_stop.load(Ordering::Relaxed) {
            tokio::task::yield_now().await;
        }
    });
    tokio::task::yield_now().await;
    let start = Instant::now();
    for _ in 0..n {
        tokio::task::yield_now().await;
    }
    let elapsed = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    partner.await.unwrap_or_else(|e| fail(format!("{e}")));
    elapsed / 2
}

// `rounds` times: `batch` tasks that do nothing spawned, then all joined.
async fn batch(batch: u64, rounds: u64) -> Duration {
    let mut handles = Vec::with_capacity(batch as usize);
    let start = Instant::now();
    for _ in 0..rounds {
        for _ in 0..batch {
            handles.push(tokio::spawn(async {}));
        }
        for h in handles.drain(..) {
            h.await.unwrap_or_else(|e| fail(format!("{e}")));
        }
    }
    start.elapsed()
}

// n round trips of one value between the caller and an echoing task.
async fn ping_pong(n: u64) -> Duration {
    let (to, mut from_main) = mpsc::channel::<u64>(1);
    let (back, mut from_echo) = mpsc::channel::<u64>(1);
    let echo = tokio::spawn(async move {
        while let Some(v) = from_main.recv().await {
            if back.send(v).await.is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    for i in 0..n {
        to.send(i).await.unwrap_or_else(|_| fail("the echo stopped".into()));
        from_echo.recv().await.unwrap_or_else(|| fail("the echo stopped".into()));
    }
    let elapsed = start.elapsed();
    drop(to);
    echo.await.unwrap_or_else(|e| fail(format!("{e}")));
    elapsed
}

// A token passed round a ring of `size` tasks `rounds` times, each hop counted; the first task then
// receives it once more and hands it back. Setting the ring up is not timed.
async fn ring(size: usize, rounds: u64) -> Duration {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..size).map(|_| mpsc::channel::<u64>(1)).unzip();
    let (done_tx, mut done_rx) = mpsc::channel::<u64>(1);
    for (i, mut input) in receivers.into_iter().enumerate() {
        let output = senders[(i + 1) % size].clone();
        let done = if i == 0 { Some(done_tx.clone()) } else { None };
        tokio::spawn(async move {
            for _ in 0..rounds {
                let hops = input.recv().await.unwrap_or_else(|| fail("the ring broke".into()));
                output.send(hops + 1).await.unwrap_or_else(|_| fail("the ring broke".into()));
            }
            if let Some(done) = done {
                let hops = input.recv().await.unwrap_or_else(|| fail("the ring broke".into()));
                done.send(hops).await.unwrap_or_else(|_| fail("the caller left".into()));
            }
        });
    }
    let start = Instant::now();
    senders[0].send(0).await.unwrap_or_else(|_| fail("the ring broke".into()));
    let hops = done_rx.recv().await.unwrap_or_else(|| fail("the ring broke".into()));
    let elapsed = start.elapsed();
    if hops != size as u64 * rounds {
        fail(format!("the token made {hops} hops, not {}", size as u64 * rounds));
    }
    elapsed
}

// Skynet: a task of `size` numbers from `num` on sends its number when size is 1, else spawns 10
// children of a tenth each and sends the sum of their answers (a channel of capacity 10 per node,
// as smarm's bench_channels).
fn skynet(parent: mpsc::Sender<u64>, num: u64, size: u64) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        if size == 1 {
            let _ = parent.send(num).await;
            return;
        }
        let (tx, mut rx) = mpsc::channel::<u64>(10);
        let part = size / 10;
        for i in 0..10 {
            tokio::spawn(skynet(tx.clone(), num + i * part, part));
        }
        drop(tx);
        let mut sum = 0;
        while let Some(v) = rx.recv().await {
            sum += v;
        }
        let _ = parent.send(sum).await;
    })
}

async fn skynet_once(leaves: u64) -> Duration {
    let (tx, mut rx) = mpsc::channel::<u64>(1);
    let start = Instant::now();
    tokio::spawn(skynet(tx, 0, leaves));
    let sum = rx.recv().await.unwrap_or_else(|| fail("skynet sent nothing".into()));
    let elapsed = start.elapsed();
    if sum != leaves * (leaves - 1) / 2 {
        fail(format!("skynet summed {sum}, not {}", leaves * (leaves - 1) / 2));
    }
    elapsed
}

// The primes in [lo, hi), by trial division by odd numbers: bench_primes.cpp's function.
fn count_primes(lo: u32, hi: u32) -> u32 {
    let mut count = 0;
    for n in lo..hi {
        if n < 2 || (n % 2 == 0 && n != 2) {
            continue;
        }
        let mut prime = true;
        let mut d: u32 = 3;
        while d * d <= n {
            if n % d == 0 {
                prime = false;
                break;
            }
            d += 2;
        }
        if prime {
            count += 1;
        }
    }
    count
}

// The primes below `bound` in `chunks` chunks, one task each sending its count through one channel
// with room for every answer, or serially; the CPU time (bench_primes reports CPU time: see there).
async fn primes(bound: u64, chunks: u64, serial: bool) -> (Duration, u64) {
    let start_of = move |i: u64| (bound * i / chunks) as u32;
    let start = cpu_time();
    let mut total: u64 = 0;
    if serial {
        for i in 0..chunks {
            total += u64::from(count_primes(start_of(i), start_of(i + 1)));
        }
    } else {
        let (tx, mut rx) = mpsc::channel::<u32>(chunks as usize);
        for i in 0..chunks {
            let tx = tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(count_primes(start_of(i), start_of(i + 1))).await;
            });
        }
        drop(tx);
        while let Some(count) = rx.recv().await {
            total += u64::from(count);
        }
    }
    (cpu_time() - start, total)
}

// The CPU time this process has used.
fn cpu_time() -> Duration {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec, which `now` is.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

fn usage() -> ! {
    eprintln!(
        "usage: tokio_peer [yield <n> | batch <batch> <rounds> | pingpong1 <n> | ring <size> \
         <rounds> | skynet <leaves, a power of 10> | primes <bound> <chunks> <count> | \
         primes_serial <bound> <chunks> <count>]"
    );
    exit(2);
}

fn ns(d: Duration) -> f64 {
    d.as_nanos() as f64
}

async fn one_shot(name: &str, n: &[u64]) {
    let f0 = minor_faults();
    match (name, n) {
        ("yield", &[count]) => {
            let per = ns(yield_pair(count).await) / count as f64;
            println!("{per:.3} {:.6}", (minor_faults() - f0) / (2 * count) as f64);
        }
        ("batch", &[size, rounds]) => {
            batch(size, rounds).await;
            let f0 = minor_faults();
            let tasks = (size * rounds) as f64;
            let per = ns(batch(size, rounds).await) / tasks;
            println!("{per:.3} {:.6}", (minor_faults() - f0) / tasks);
        }
        ("pingpong1", &[count]) => {
            let per = ns(ping_pong(count).await) / count as f64;
            println!("{per:.3} {:.6}", (minor_faults() - f0) / count as f64);
        }
        ("ring", &[size, rounds]) => {
            let hops = (size * rounds) as f64;
            let per = ns(ring(size as usize, rounds).await) / hops;
            println!("{per:.3} {:.6}", (minor_faults() - f0) / hops);
        }
        ("skynet", &[leaves]) => {
            let mut l = leaves;
            while l % 10 == 0 {
                l /= 10;
            }
            if l != 1 {
                usage();
            }
            skynet_once(leaves).await;
            let f0 = minor_faults();
            let took = ns(skynet_once(leaves).await);
            println!("{took:.3} {:.6} {}", minor_faults() - f0, status_kib("VmHWM"));
        }
        ("primes" | "primes_serial", &[bound, chunks, want]) => {
            let (took, total) = primes(bound, chunks, name == "primes_serial").await;
            if total != want {
                fail(format!("counted {total} primes, not {want}"));
            }
            println!("{:.3} {:.6}", ns(took), minor_faults() - f0);
        }
        _ => usage(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        usage();
    }
    let counts: Vec<u64> = args[1..]
        .iter()
        .map(|a| match a.parse::<u64>() {
            Ok(v) if v > 0 => v,
            _ => {
                eprintln!("tokio_peer: \"{a}\" is not a positive count");
                exit(2);
            }
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| fail(format!("no runtime: {e}")));
    runtime.block_on(one_shot(&args[0], &counts));
}
