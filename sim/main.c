/* main.c - the ckptsim command line: a table of subcommands, each implemented by its
 * own module (sim_commands.h). This file only dispatches and prints the top help. */
#include <stdio.h>
#include <string.h>

#include "sim/sim_commands.h"

typedef struct SimCommand {
    const char *name;
    SimCommandFunc func;
    const char *summary;
    const char *example;
} SimCommand;

static const SimCommand commands[] = {
    {"selftest", sim_cmd_selftest,
     "randomized workload over the simulation kernel and world; prints its trace hash",
     "ckptsim selftest --seed 1 --json"},
    {"bench", sim_cmd_bench, "benchmarks: 'kernel' (event loop), 'e2e' (a whole job)",
     "ckptsim bench kernel --json"},
    {"run", sim_cmd_run, "run one scenario once and check it (exit 1 on a violation)",
     "ckptsim run scenarios/linear.ini --seed 7"},
    {"sweep", sim_cmd_sweep, "run scenarios for a range of seeds, in parallel processes",
     "ckptsim sweep scenarios/*.ini --seeds 1..100 --jobs 2"},
    {"replay", sim_cmd_replay, "re-run the violation recorded in a capsule",
     "ckptsim replay /tmp/ckptsim-capsules/linear-seed7.capsule"},
    {"bugs", sim_cmd_bugs, "list the planted bugs and the invariant that catches each",
     "ckptsim bugs"},
    {"shrink", sim_cmd_shrink, "cut a capsule's fault plan down to a minimal failing one",
     "ckptsim shrink /tmp/ckptsim-capsules/random-faults-seed3.capsule"},
    {"report", sim_cmd_report, "plot runs written with --out DIR (gnuplot) and list verdicts",
     "ckptsim report /tmp/run --out /tmp/run/report.html"},
    {"zk", sim_cmd_zk, "ZooKeeper tools: 'probe' measures a real server",
     "ckptsim zk probe --zk 127.0.0.1:2181 --json"},
    {"live", sim_cmd_live, "run a scenario's job for real: processes, TCP, files, ZooKeeper",
     "ckptsim live scenarios/linear.ini --dir /tmp/live1"},
    {"museum", sim_cmd_museum, "replay real Flink incidents: each caught with its bug, held without",
     "ckptsim museum --json --seeds 1..200 --jobs 2"},
};

static void usage(FILE *out) {
    fprintf(out,
            "ckptsim %s - a Chandy-Lamport checkpoint simulator and verification harness\n"
            "\n"
            "A deterministic discrete-event simulator runs the real stream-processing runtime\n"
            "(keyed state, state backends, checkpoint barriers, the checkpoint coordinator,\n"
            "two-phase-commit sinks, ZooKeeper HA) against scripted topologies with injected\n"
            "crashes, delays and session expiries, and checks exactly-once consistency.\n"
            "\n"
            "Usage: ckptsim SUBCOMMAND [OPTIONS]     (ckptsim SUBCOMMAND --help for its options)\n"
            "       ckptsim --help | --version\n"
            "\nSubcommands:\n",
            CKPTSIM_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n  %-10s   e.g. %s\n", commands[i].name, commands[i].summary,
                "", commands[i].example);
    fprintf(out, "\nExit status: 0 everything held, 1 a violation, 2 bad input.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return SIM_EXIT_BAD_INPUT;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return SIM_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("ckptsim %s\n", CKPTSIM_VERSION);
        return SIM_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].func(argc - 1, argv + 1);
    fprintf(stderr, "ckptsim: unknown subcommand '%s' (see 'ckptsim --help')\n", argv[1]);
    return SIM_EXIT_BAD_INPUT;
}
