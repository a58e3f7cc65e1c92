SELECT 1 TO explain.z;
