/*
 * posture_cmd.h - `bouncewall posture [DOMAIN]... [-c FILE] [--resolver ADDR]
 * [--selector S]... [--json]`.
 */
#ifndef BW_CMD_POSTURE_H
#define BW_CMD_POSTURE_H

int cmd_posture(int argc, char **argv);

#endif
