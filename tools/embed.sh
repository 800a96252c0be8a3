#!/bin/sh
# embed.sh IN OUT SYMBOL: turn a data file into a C source defining
#   const char SYMBOL[]; const unsigned long SYMBOL_len;
set -eu
in=$1 out=$2 sym=$3
{
	echo "/* Generated from $(basename "$in") by tools/embed.sh. Do not edit. */"
	echo "const char $sym[] = {"
	od -An -v -tx1 "$in" | sed -e 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/^/\t/'
	echo "0x00 };"
	echo "const unsigned long ${sym}_len = sizeof($sym) - 1;"
} >"$out"
