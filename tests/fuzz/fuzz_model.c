/*
 * fuzz_model.c - libFuzzer target: arbitrary bytes as an anomaly model file.
 *
 * A model either loads (and then scores any feature vector, NaN included: a forest
 * to a number in (0, 1], a Hotelling model to T² >= 0, or NaN where the arithmetic on
 * what the file holds is not finite) or fails with a message that names the input and
 * a line.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dq/dq.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    dq_error err;
    dq_model *m = dq_model_parse_n((const char *)data, size, "fuzz.model", &err);
    if (!m) {
        if (strncmp(err.msg, "fuzz.model:", 11) != 0)
            abort();
        return 0;
    }
    double x[64];
    for (int i = 0; i < 64; i++)
        x[i] = i % 3 == 0 ? NAN : (double)(i * 7 % 11) - 5;
    double score = dq_model_score(m, x);
    bool forest = size >= 10 && memcmp(data, "dq-iforest", 10) == 0;
    if (forest ? !(score > 0 && score <= 1) : !(score >= 0 || isnan(score)))
        abort();
    dq_model_free(m);
    return 0;
}
