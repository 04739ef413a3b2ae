/*
 * analyze.h - `bouncewall analyze FILE`: the capture replayed through the
 * same flow table and SMTP parser the agent runs, capture timestamps as
 * the clock.
 */
#ifndef BW_ANALYZE_H
#define BW_ANALYZE_H

/*
 * argv[0] is "analyze".  Returns the process exit status: 0 done, 1 the
 * file could not be opened or read to its end (what was read is still
 * reported), 2 bad usage.
 */
int cmd_analyze(int argc, char **argv);

#endif
