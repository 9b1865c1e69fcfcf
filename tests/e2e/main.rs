mod reassemble;
