"""One error type for every bad input: it names the file, the field and the fix."""


class InputError(ValueError):
    """A user-supplied file or value is wrong.

    The message always has the form ``<file>: <field>: <problem>. Fix: <fix>`` so that a
    user reading a Snakemake log knows what to change without reading code.
    """

    def __init__(self, file, field, problem, fix):
        self.file, self.field, self.problem, self.fix = str(file), str(field), problem, fix
        super().__init__(f"{self.file}: {self.field}: {problem}. Fix: {fix}")
