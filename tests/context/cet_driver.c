// cet_driver.c — the smallest program around the x86-64 switch, for check_cet.py: built with
// -fcf-protection=full, it must keep indirect-branch tracking in its property note, and still
// make a new context run and come back.
#include <stdio.h>

void* smarm_make_frame(void* stack_top, void (*fn)(void*), void* arg);
void smarm_switch(void** save, void* to);

static void* main_frame;
static void* context_frame;
static _Alignas(16) unsigned char stack[64 * 1024];

static void body(void* arg) {
  *(int*)arg = 42;
  smarm_switch(&context_frame, main_frame);  // never resumed: the program ends first
}

int main(void) {
  int value = 0;
  smarm_switch(&main_frame, smarm_make_frame(stack + sizeof stack, body, &value));
  printf("%d\n", value);
  return value == 42 ? 0 : 1;
}
