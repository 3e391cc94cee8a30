"""`python -m dicomstream`: the same as the `dicomstream` command."""

from dicomstream.entry import main

main()
