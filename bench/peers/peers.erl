#!/usr/bin/env escript
%% -*- erlang -*-
%%! +S 1 +P 2000000
%% peers.erl — Erlang's side of the channel benchmarks, on one scheduler (+S 1) as smarm runs on
%% one thread: a ping-pong between two processes, a token passed round a ring of 1000 processes,
%% and skynet (a tree of 1,111,111 processes summing their numbers) with the emulator's peak
%% resident memory. Messages stand for channels: each process's mailbox is its one channel.
%% Medians of 9 runs, printed like bench_main.hpp's table:
%%
%%     escript bench/peers/peers.erl
%%
%% The benchmark programs run the same measurements one at a time through the one-shot form, which
%% speaks bench/peers/peers.go's protocol: it prints "<ns per operation> <minor faults per
%% operation>" and, for skynet, "<peak resident KiB>":
%%
%%     peers.erl pingpong <n>            n round trips between two processes
%%     peers.erl ring <size> <rounds>    a token round a ring of <size> processes <rounds> times,
%%                                       per hop
%%     peers.erl skynet <leaves>         a warm-up tree, then one timed, per tree; <leaves> is a
%%                                       power of 10 (1000000 is the benchmark)
%%
%% The peak resident memory is the VmHWM line of /proc/<pid>/status, read by the emulator about
%% itself (os:getpid() is the OS process that escript runs the emulator in) just before it exits:
%% the peak over the process's whole life, start-up and the warm-up tree included. The minor faults
%% are field 10 of /proc/<pid>/stat. +P raises the limit on live processes (262,144 by default)
%% above skynet's 1,111,111, to 2^21: the table of processes adds about 20 MiB to every peak.
-mode(compile).
%% The restart workload's supervisors call this script back (its module, whatever escript names it).
-behaviour(supervisor).
-export([init/1, start_child/1]).

main([]) -> table();
main(Args) -> one_shot(Args).

%% ---- the measurements

%% n round trips of one message between the caller and a partner that sends every message back.
ping_pong(N) ->
    Self = self(),
    Partner = spawn(fun() -> echo(Self) end),
    Start = now_ns(),
    ping(Partner, N),
    Elapsed = now_ns() - Start,
    Partner ! stop,
    Elapsed.

ping(_Partner, 0) -> ok;
ping(Partner, I) ->
    Partner ! I,
    receive I -> ping(Partner, I - 1) end.

echo(Caller) ->
    receive
        stop -> ok;
        I -> Caller ! I, echo(Caller)
    end.

%% A token passed round a ring of Size processes Rounds times: each receives it from its predecessor
%% and sends it on to its successor, Rounds times, counting the hops; the first one then receives it
%% once more and hands it back. Setting the ring up is not timed.
ring(Size, Rounds) ->
    Self = self(),
    First = spawn(fun() -> receive {next, Next} -> first(Next, Rounds, Self) end end),
    Second = lists:foldl(fun(_, Next) -> spawn(fun() -> relay(Next, Rounds) end) end,
                         First, lists:seq(2, Size)),
    First ! {next, Second},
    Start = now_ns(),
    First ! {token, 0},
    receive
        {done, Hops} ->
            Elapsed = now_ns() - Start,
            Hops =:= Size * Rounds orelse
                fail("the token made ~b hops, not ~b", [Hops, Size * Rounds]),
            Elapsed
    end.

relay(_Next, 0) -> ok;
relay(Next, Rounds) ->
    receive {token, Hops} -> Next ! {token, Hops + 1} end,
    relay(Next, Rounds - 1).

first(Next, Rounds, Caller) ->
    relay(Next, Rounds),
    receive {token, Hops} -> Caller ! {done, Hops} end.

%% Skynet: a process of Size numbers from Num on is a leaf that sends its number when Size is 1,
%% else spawns 10 children of a tenth each and sends the sum of their answers.
skynet(Parent, Num, 1) -> Parent ! {sum, Num};
skynet(Parent, Num, Size) ->
    Self = self(),
    Part = Size div 10,
    [spawn(fun() -> skynet(Self, Num + I * Part, Part) end) || I <- lists:seq(0, 9)],
    Parent ! {sum, collect(10, 0)}.

collect(0, Sum) -> Sum;
collect(N, Sum) -> receive {sum, S} -> collect(N - 1, Sum + S) end.

%% One tree of Leaves leaves; its sum is checked.
skynet_once(Leaves) ->
    Self = self(),
    Start = now_ns(),
    spawn(fun() -> skynet(Self, 0, Leaves) end),
    receive
        {sum, Sum} ->
            Elapsed = now_ns() - Start,
            Want = Leaves * (Leaves - 1) div 2,
            Sum =:= Want orelse fail("skynet summed ~b, not ~b", [Sum, Want]),
            Elapsed
    end.

%% ---- the process's own figures, from /proc

now_ns() -> erlang:monotonic_time(nanosecond).

minor_faults() ->
    {ok, Stat} = file:read_file("/proc/" ++ os:getpid() ++ "/stat"),
    %% The command name (field 2) may hold spaces: the fields are counted after its ')'.
    [_, After] = string:split(Stat, ")", trailing),
    list_to_integer(binary_to_list(lists:nth(8, string:lexemes(After, " ")))).

status_kib(Field) ->
    {ok, Status} = file:read_file("/proc/" ++ os:getpid() ++ "/status"),
    Prefix = list_to_binary(Field ++ ":"),
    Lines = binary:split(Status, <<"\n">>, [global]),
    case [L || L <- Lines, binary:match(L, Prefix) =:= {0, byte_size(Prefix)}] of
        [Line | _] -> [_, Kib | _] = string:lexemes(Line, " \t"), binary_to_integer(Kib);
        [] -> 0
    end.

%% ---- the one-shot form (see the top of the file)

one_shot([Name | Counts]) ->
    N = [count(C) || C <- Counts],
    case {Name, N} of
        {"pingpong", [Trips]} ->
            F0 = minor_faults(),
            Ns = ping_pong(Trips) / Trips,
            io:format("~.3f ~.6f~n", [Ns, (minor_faults() - F0) / Trips]);
        {"ring", [Size, Rounds]} ->
            F0 = minor_faults(),
            Hops = Size * Rounds,
            Ns = ring(Size, Rounds) / Hops,
            io:format("~.3f ~.6f~n", [Ns, (minor_faults() - F0) / Hops]);
        {"skynet", [Leaves]} ->
            power_of_10(Leaves) orelse usage(),
            skynet_once(Leaves),
            F0 = minor_faults(),
            Ns = skynet_once(Leaves),
            Faults = minor_faults() - F0,
            io:format("~.3f ~.6f ~b~n", [float(Ns), float(Faults), status_kib("VmHWM")]);
        {"restart", [Restarts, Each]} ->
            F0 = minor_faults(),
            Ns = restarts(Restarts, Each) / Restarts,
            io:format("~.3f ~.6f~n", [Ns, (minor_faults() - F0) / Restarts]);
        _ -> usage()
    end.

count(Arg) ->
    case string:to_integer(Arg) of
        {N, ""} when N > 0 -> N;
        _ ->
            io:format(standard_error, "peers.erl: \"~s\" is not a positive count~n", [Arg]),
            halt(2)
    end.

power_of_10(1) -> true;
power_of_10(N) when N rem 10 =:= 0 -> power_of_10(N div 10);
power_of_10(_) -> false.

usage() ->
    io:format(standard_error, "usage: peers.erl [pingpong <n> | ring <size> <rounds> |"
              " skynet <leaves, a power of 10> | restart <n> <per supervisor>]~n", []),
    halt(2).

fail(Format, Args) ->
    io:format(standard_error, "peers.erl: " ++ Format ++ "~n", Args),
    halt(1).

%% ---- the table

median(F) ->
    lists:nth(5, lists:sort([F() || _ <- lists:seq(1, 9)])).

table() ->
    {ok, CpuInfo} = file:read_file("/proc/cpuinfo"),
    Options = [multiline, {capture, all_but_first, list}],
    Model = case re:run(CpuInfo, "^model name\\s*:\\s*(.*)$", Options) of
                {match, [M]} -> M;
                nomatch -> "unknown CPU"
            end,
    {{Y, Mo, D}, _} = calendar:local_time(),
    io:format("~s, ~4..0b-~2..0b-~2..0b~n", [Model, Y, Mo, D]),
    io:format("Erlang/OTP ~s (ERTS ~s), ~b scheduler, medians of 9 runs:~n",
              [erlang:system_info(otp_release), erlang:system_info(version),
               erlang:system_info(schedulers_online)]),
    io:format("  pingpong/erlang              ~8.2f ns per round trip~n",
              [median(fun() -> ping_pong(1000000) / 1000000 end)]),
    io:format("  ring/erlang                  ~8.2f ns per hop~n",
              [median(fun() -> ring(1000, 1000) / 1000000 end)]),
    io:format("  restart/erlang               ~8.2f ns per restart~n",
              [median(fun() -> restarts(100000, 100) / 100000 end)]),
    %% Each skynet run is a fresh emulator of the one-shot form, so that its peak is its own.
    Runs = [skynet_process(1000000) || _ <- lists:seq(1, 9)],
    Median = fun(I) -> lists:nth(5, lists:sort([element(I, R) || R <- Runs])) end,
    io:format("  skynet/erlang                ~8.2f ms per tree   ~8b faults   ~6.1f MiB peak"
              " resident~n", [Median(1) / 1.0e6, round(Median(2)), Median(3) / 1024]).

%% Runs this script's one-shot skynet in a new emulator: {ns, faults, peak KiB}.
skynet_process(Leaves) ->
    Escript = filename:join([code:root_dir(), "bin", "escript"]),
    Port = open_port({spawn_executable, Escript},
                     [{args, [escript:script_name(), "skynet", integer_to_list(Leaves)]},
                      exit_status, binary, stderr_to_stdout]),
    Out = port_output(Port, <<>>),
    [Ns, Faults, Kib] = string:lexemes(string:trim(Out), " "),
    {binary_to_float(Ns), binary_to_float(Faults), binary_to_integer(Kib)}.

port_output(Port, Acc) ->
    receive
        {Port, {data, Data}} -> port_output(Port, <<Acc/binary, Data/binary>>);
        {Port, {exit_status, 0}} -> Acc;
        {Port, {exit_status, Status}} -> fail("skynet exited with ~b: ~s", [Status, Acc])
    end.

%% ---- restarts (bench_supervision): a child crashing under a one_for_one supervisor
%%
%%     peers.erl restart <n> <each>     n crashes and restarts, <each> per supervisor, per restart
%%
%% Each supervisor (OTP's `supervisor`, this script its callback module) allows exactly <each>
%% restarts of its transient child, which crashes (exit(crash)) <each> times and then tells the
%% caller and stays; the supervisor is then shut down. Its start and its shutdown are timed with
%% its restarts, as bench_supervision times smarm's. The logger is silenced: a supervisor reports
%% every restart to it, and formatting the reports would be measured instead.
restarts(N, Each) ->
    N rem Each =:= 0 orelse fail("~b restarts are not a whole number of ~b", [N, Each]),
    logger:set_primary_config(level, none),
    Start = now_ns(),
    [supervised(Each) || _ <- lists:seq(1, N div Each)],
    now_ns() - Start.

supervised(Each) ->
    Count = atomics:new(1, []),
    {ok, Sup} = supervisor:start_link(?MODULE, {Count, Each, self()}),
    receive crashed_enough -> ok end,
    unlink(Sup),
    Ref = monitor(process, Sup),
    exit(Sup, shutdown),
    receive {'DOWN', Ref, process, Sup, _} -> ok end.

init({_, Each, _} = Args) ->
    {ok, {#{strategy => one_for_one, intensity => Each, period => 3600},
          [#{id => crashy, start => {?MODULE, start_child, [Args]}, restart => transient}]}}.

start_child(Args) -> {ok, spawn_link(fun() -> crashy(Args) end)}.

crashy({Count, Each, Caller}) ->
    case atomics:add_get(Count, 1, 1) > Each of
        true -> Caller ! crashed_enough, receive stop -> ok end;
        false -> exit(crash)
    end.
