/* run: `nono-supervise run [FLAGS] -- COMMAND`: one sandboxed command in the foreground. */
#ifndef NONO_RUN_H
#define NONO_RUN_H

/* argv: what follows "run". Returns the exit status (see run_args.h for our own codes). */
int run_main(int argc, char **argv);

#endif
