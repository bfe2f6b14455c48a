/* sim_commands.h - the ckptsim subcommands. Each is implemented by the module it
 * belongs to and listed in the table in sim/main.c.
 *
 * Contract: argv[0] is the subcommand name; the function parses its own options and
 * returns the process exit code: 0 everything held, 1 a violation (or a failed
 * check), 2 bad input (usage, malformed file, unreachable service). */
#ifndef SIM_COMMANDS_H
#define SIM_COMMANDS_H

/* Exit codes shared by every subcommand. */
enum { SIM_EXIT_OK = 0, SIM_EXIT_VIOLATION = 1, SIM_EXIT_BAD_INPUT = 2 };

typedef int (*SimCommandFunc)(int argc, char **argv);

int sim_cmd_selftest(int argc, char **argv); /* sim/world/sim_selftest.c */
int sim_cmd_bench(int argc, char **argv);    /* sim/core/sim_bench.c (+ e2e) */

int sim_cmd_run(int argc, char **argv);    /* sim/harness/sim_cli_run.c */
int sim_cmd_sweep(int argc, char **argv);  /* sim/harness/sim_sweep.c */
int sim_cmd_replay(int argc, char **argv); /* sim/harness/sim_cli_run.c */
int sim_cmd_bugs(int argc, char **argv);   /* sim/harness/sim_cli_run.c */
int sim_cmd_shrink(int argc, char **argv); /* sim/harness/sim_shrink.c */
int sim_bench_e2e(int argc, char **argv);  /* sim/harness/sim_bench_e2e.c (bench e2e) */
int sim_bench_live(int argc, char **argv); /* sim/harness/sim_live_bench.c (bench live) */
int sim_cmd_report(int argc, char **argv); /* sim/report/sim_report.c */
int sim_cmd_zk(int argc, char **argv);     /* sim/sim_cmd_zk.c */
int sim_cmd_live(int argc, char **argv);   /* sim/harness/sim_live.c */
int sim_cmd_museum(int argc, char **argv); /* sim/harness/sim_museum.c */

#endif /* SIM_COMMANDS_H */
