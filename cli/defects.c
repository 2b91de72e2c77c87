/*
 * defects.c - the tables of defects.h.
 */
#include <string.h>

#include "defects.h"

#define NAME(e, name, reason) name,
#define REASON(e, name, reason) reason,
const char *const cli_defect_names[D__COUNT] = {CLI_DEFECTS(NAME)};
const int cli_defect_reasons[D__COUNT] = {CLI_DEFECTS(REASON)};

int cli_defect_from_name(const char *name)
{
    for (int d = 0; d < D__COUNT; d++)
        if (strcmp(cli_defect_names[d], name) == 0)
            return d;
    return -1;
}
