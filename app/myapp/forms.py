from django import forms

from myapp.models import Note, Upload


class NoteForm(forms.ModelForm):
    class Meta:
        model = Note
        fields = ("text",)


class UploadForm(forms.ModelForm):
    class Meta:
        model = Upload
        fields = ("file",)
