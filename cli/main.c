/*
 * main.c - the `dq` tool: a table of subcommands, each in a file of its own.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dq/dq.h"

typedef struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subcommand;

static const subcommand commands[] = {
    {"check", cli_cmd_check, "validate and clean NDJSON events against a contract (no services needed)"},
    {"gate", cli_cmd_gate, "validate a Kafka topic line-rate: clean, dead-letter and metrics topics"},
    {"score", cli_cmd_score, "precision and recall of the verdicts against dq gen's ground truth"},
    {"gen", cli_cmd_gen, "generate realistic sensor readings with injected defects and ground truth"},
};

static void usage(FILE *out)
{
    fprintf(out, "dq %s - real-time data quality for sensor streams\n\nusage: dq <command> [options]\n\ncommands:\n",
            DQ_VERSION_STRING);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'dq <command> --help' describes a command. Exit codes: 0 ok, 1 rejects with --fail-on-reject,\n"
                 "2 usage, 3 contract or model, 4 input/output, 5 Kafka, 6 out of memory.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("dq %s\n", DQ_VERSION_STRING);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "dq: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
