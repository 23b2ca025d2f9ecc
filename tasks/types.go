package tasks

// The task types of the library, each with the phrases that describe it.
// A route's condition is grounded in a type when one of its facets is near
// one of these phrases (package ground). The phrases say what the label
// means, in the words a user writing a condition would use; they are not
// taken from any evaluation set.
func typeList() []Type {
	return []Type{
		{Name: "advice", Phrases: []string{"advice", "practical guidance", "tips and recommendations", "what should I do", "how to do something in everyday life"}},
		{Name: "brainstorming", Phrases: []string{"brainstorming", "generate ideas", "lists of ideas and suggestions", "come up with names or ideas"}},
		{Name: "business_writing", Phrases: []string{"business writing", "writing emails", "professional letters and memos", "marketing copy", "cover letters and job posts"}},
		{Name: "chit_chat", Phrases: []string{"chit-chat", "small talk", "casual conversation", "greetings", "questions about the assistant itself"}},
		{Name: "classification", Phrases: []string{"classification", "classify text into categories", "label the sentiment or topic of a text", "categorize"}},
		{Name: "closed_qa", Phrases: []string{"answer a question from a given passage", "reading comprehension", "question answering over a provided document"}},
		{Name: "code_explanation", Phrases: []string{"code explanation", "explain what this code does", "walk through how a program works"}},
		{Name: "coding", Phrases: []string{"programming", "writing code", "implement a function", "software development", "write a script"}},
		{Name: "creative_writing", Phrases: []string{"creative writing", "stories", "poems", "fiction", "song lyrics"}},
		{Name: "debugging", Phrases: []string{"debugging", "fix a bug", "fix an error in code", "why does my program crash", "stack traces and compiler errors"}},
		{Name: "humanities", Phrases: []string{"humanities", "history", "philosophy", "literature", "art and culture"}},
		{Name: "information_extraction", Phrases: []string{"information extraction", "extract names, numbers and entities from a text", "pull structured data out of text"}},
		{Name: "math", Phrases: []string{"mathematics", "math problems", "arithmetic and algebra", "word problems", "solve an equation"}},
		{Name: "open_qa", Phrases: []string{"general knowledge questions", "factual questions", "trivia", "look up a fact"}},
		{Name: "reasoning", Phrases: []string{"logical reasoning", "logic puzzles", "deduction", "riddles"}},
		{Name: "roleplay", Phrases: []string{"roleplay", "act as a character", "pretend to be someone", "persona"}},
		{Name: "sql", Phrases: []string{"SQL", "database queries", "write a SQL query", "relational databases"}},
		{Name: "stem", Phrases: []string{"science", "physics", "chemistry", "engineering problems", "science questions"}},
		{Name: "summarization", Phrases: []string{"summarization", "summarize a text", "TL;DR", "condense an article"}},
		{Name: "translation", Phrases: []string{"translation", "translate between languages", "say this in another language"}},
	}
}
