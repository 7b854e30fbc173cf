#include "cli.h"

int main(int argc, char** argv) { return dbmig::app::run(argc, argv); }
