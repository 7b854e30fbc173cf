SELECT U&'\zzzz';
