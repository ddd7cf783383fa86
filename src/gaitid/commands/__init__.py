"""What each command of `gaitid` does, for the thin parser in cli.py: check the inputs and outputs before
the work, call the library (gaitid.pipeline, gaitid.pose, gaitid.gallery), print what happened and return
the exit status. Nothing else in gaitid prints or returns exit codes, and nothing imports these modules but
the command line."""
