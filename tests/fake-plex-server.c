/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Placeholder: being written. */
int main (void) { return 0; }
