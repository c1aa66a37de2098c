/* clock.h - the two clocks Porthole uses: monotonic for intervals, wall
 * time for timestamps shown to people. Both in milliseconds. */
#ifndef PORTHOLE_COMMON_CLOCK_H
#define PORTHOLE_COMMON_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t clock_mono_ms(void);
int64_t clock_wall_ms(void);

/* Writes wall time ms as ISO-8601 UTC with milliseconds
 * ("2026-11-26T11:38:03.123Z") into out (at least 25 bytes). */
void clock_iso8601(int64_t wall_ms, char *out, size_t outlen);

#endif
