// tests/plugins/exec.c: an ELF executable (linked -no-pie, so ET_EXEC), which
// the loader must refuse as "not a shared object" before dlopen sees it.
int
main(void)
{
    return 0;
}
