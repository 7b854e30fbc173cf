#include <iostream>

int main() {
  std::cout << "dbmig\n";
  return 0;
}
